"""The supervisor hands children exactly the settings `threshold up` computed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from core.settings import ApiSettings, JiraSettings, Settings, SlackSettings, TemporalSettings
from core.supervisor import child_env, settings_env


def revealed(settings: Settings) -> dict[str, object]:
    """Every setting, secrets shown, for comparison."""
    dump = settings.model_dump(mode="json")
    dump["slack"]["bot_token"] = (
        settings.slack.bot_token.get_secret_value() if settings.slack.bot_token else None
    )
    return dump


def test_a_child_reads_back_the_same_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Settings turned into THRESHOLD_* variables parse back to equal settings, secrets included."""
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/t.db",
        api=ApiSettings(port=9123, public_url="https://threshold.example.com"),
        temporal=TemporalSettings(address="10.0.0.5:7233", embedded=False, max_history_events=500),
        slack=SlackSettings(bot_token=SecretStr("xoxb-real-token"), approvals_channel="#ai"),
        jira=JiraSettings(
            url="https://acme.atlassian.net", api_token=SecretStr("t0ken"), user="a@b.c"
        ),
    )
    env = settings_env(settings)
    for key in [k for k in os.environ if k.startswith("THRESHOLD_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    again = Settings()
    assert revealed(again) == revealed(settings)
    assert again.jira.api_token is not None and again.jira.api_token.get_secret_value() == "t0ken"


def test_child_env_replaces_threshold_settings_and_temporal_overrides() -> None:
    """A child keeps PATH and the like, but no stale THRESHOLD_* or TEMPORAL_ADDRESS variable."""
    base = {"PATH": "/bin", "THRESHOLD_STALE": "x", "TEMPORAL_ADDRESS": "elsewhere:7233"}
    env = child_env(Settings(), base)
    assert env["PATH"] == "/bin"
    assert "THRESHOLD_STALE" not in env and "TEMPORAL_ADDRESS" not in env
    assert env["THRESHOLD_TEMPORAL__ADDRESS"] == "127.0.0.1:7233"
    assert env["THRESHOLD_TEMPORAL__EMBEDDED"] == "true"
