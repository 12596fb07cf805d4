"""The CLI never sends or prints a secret: refused locally (exit 2), and scrubbed if echoed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.cli.conftest import FakeApi
from tests.secret_corpus import SECRETS, leaked

ECHOING = {
    "error": {
        "message": f"invalid event: data.credential.vault_ref: {SECRETS[0].value!r} is a secret",
        "problems": [{"field": "data.credential.vault_ref", "message": SECRETS[0].value}],
    }
}


def test_credential_change_with_a_secret_sends_nothing(
    api: FakeApi, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """A credential file holding a secret exits 2 naming the field; no request is made."""
    for sample in SECRETS:
        path = tmp_path / "credential.yaml"
        path.write_text(
            yaml.safe_dump(
                {"id": "crm", "kind": "api_key", "environment": "pilot", "vault_ref": sample.value}
            )
        )
        args = ["event", "credential-change", "support-assistant", "--action", "added"]
        result = cli(*args, "--credential", str(path))
        assert result.exit_code == 2, (sample.family, result.output)
        assert "data.credential.vault_ref" in result.output
        assert leaked(sample, result.output) == [], sample.family
    assert api.requests == []


def test_deploy_check_with_a_secret_sends_nothing(
    api: FakeApi, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """A manifest whose description holds a secret exits 2 naming the field; nothing is sent."""
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump({"id": "support-assistant", "description": SECRETS[2].value}))
    result = cli("deploy-check", "--manifest", str(path))
    assert result.exit_code == 2, result.output
    assert "description" in result.output and leaked(SECRETS[2], result.output) == []
    assert api.requests == []


def test_an_echoing_server_is_scrubbed_before_printing(
    api: FakeApi, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """If a server (an older one) echoes a secret in its refusal, the CLI prints its fingerprint."""
    api.reply("POST", "/events", 422, ECHOING)
    result = cli(
        "event",
        "model-change",
        "support-assistant",
        "--provider",
        "anthropic",
        "--name",
        "claude",
        "--version",
        "2026-09",
    )
    assert result.exit_code == 2, result.output
    assert "data.credential.vault_ref" in result.output
    assert leaked(SECRETS[0], result.output) == []
    assert json.loads(api.requests[0].content)["type"] == "dev.threshold.model.changed"
