"""Debian's Chromium for the browser tests: where it is, how it is launched, skip or fail."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("THRESHOLD_CHROMIUM", "/usr/bin/chromium"))
SKIP_REASON = f"Chromium not found at {CHROMIUM} — skipping browser tests (.ci/run installs it)"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip on a machine without Chromium; fail in CI, where it must run."""
    if CHROMIUM.is_file():
        return
    if os.environ.get("CI"):
        pytest.fail(f"Chromium is required in CI but missing at {CHROMIUM}")
    pytest.skip(SKIP_REASON)
