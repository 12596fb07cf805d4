"""Loads the governance policy file, re-reading it when it changes."""

from __future__ import annotations

from pathlib import Path

import yaml

from core.settings import Settings
from domain.errors import InvalidInput, Problem
from domain.policy import Policy, parse_policy

_cache: dict[Path, tuple[float, Policy]] = {}


def policy_path(settings: Settings) -> Path | None:
    """The configured policy file, or `policy.yaml` in the working directory if present."""
    if settings.policy_file is not None:
        return settings.policy_file
    default = Path("policy.yaml")
    return default if default.exists() else None


def load_policy(settings: Settings) -> Policy:
    """The current policy (defaults when no file is configured)."""
    path = policy_path(settings)
    if path is None:
        return Policy()
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        raise InvalidInput(
            f"policy file {path} not found",
            [Problem("THRESHOLD_POLICY_FILE", "point it at an existing YAML file or unset it")],
        ) from None
    cached = _cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    policy = parse_policy(yaml.safe_load(path.read_text()))
    _cache[path] = (mtime, policy)
    return policy
