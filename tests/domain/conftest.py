"""Shared fixtures for the pure domain tests: the repo's policy file and example manifests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
# The project is not installed into the venv; make `pytest tests/domain` find `domain/`.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from domain.policy import Policy, parse_policy  # noqa: E402


def load_yaml(relative: str) -> Any:
    """Read a YAML file from the repository."""
    return yaml.safe_load((REPO / relative).read_text())


@pytest.fixture
def policy() -> Policy:
    """The repository's policy.yaml."""
    return parse_policy(load_yaml("policy.yaml"))


@pytest.fixture
def support_data() -> dict[str, Any]:
    """A fresh, mutable copy of the gap-free support-assistant manifest."""
    data: dict[str, Any] = load_yaml("examples/support-assistant.yaml")
    return data


@pytest.fixture
def quiet_data() -> dict[str, Any]:
    """A complete manifest that raises no governance trigger at all."""
    return {
        "id": "quiet-system",
        "name": "Quiet system",
        "business_owner": "bea.business@example.com",
        "technical_owner": "ted.tech@example.com",
        "use_cases": [{"name": "summarise", "purpose": "Summarise internal wiki pages."}],
        "data_classification": "internal",
        "autonomy": "suggest_only",
        "model": {"provider": "anthropic", "name": "claude-sonnet", "version": "2026-09"},
        "logging": {},
        "environment": "pilot",
    }
