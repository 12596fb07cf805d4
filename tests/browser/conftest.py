"""Headless Chromium (Debian's package) driven by Playwright, without any browser download."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

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


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    """A launched headless Chromium browser."""
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()
