"""Revokers: a command's exit status and a recording file decide confirmation; never a secret."""

from __future__ import annotations

import sys
from pathlib import Path

from core.settings import RevokerSettings
from domain.manifest import Credential
from integrations.revoker import (
    ManualRevoker,
    RecordingRevoker,
    ShellRevoker,
    WebhookRevoker,
    revoker_from_settings,
)
from tests.emulators._http import LocalServer, Request, Response

CREDENTIAL = Credential.model_validate(
    {
        "id": "agent-key",
        "kind": "api_key",
        "environment": "production",
        "vault_ref": "vault://kv/prod/agent",
    }
)


def test_a_command_gets_the_credential_reference_and_exit_zero_confirms(tmp_path: Path) -> None:
    """The command sees THRESHOLD_REVOKE_* variables; exit 0 confirms, non-zero does not."""
    out = tmp_path / "seen.txt"
    script = tmp_path / "revoke.py"
    script.write_text(
        "import os, sys\n"
        f"open({str(out)!r}, 'w').write(os.environ['THRESHOLD_REVOKE_VAULT_REF'])\n"
        "sys.exit(int(sys.argv[1]))\n"
    )
    confirmed, detail = ShellRevoker(f"{sys.executable} {script} 0").revoke(
        "agent", CREDENTIAL, "contained"
    )
    assert confirmed and detail.startswith("exit 0")
    assert out.read_text() == "vault://kv/prod/agent"
    refused, detail = ShellRevoker(f"{sys.executable} {script} 3").revoke("agent", CREDENTIAL, "x")
    assert not refused and detail.startswith("exit 3")


class RevocationEndpoint(LocalServer):
    """A revocation webhook that answers each call with the next planned status."""

    def __init__(self, statuses: list[int]) -> None:
        super().__init__()
        self.statuses = statuses
        self.calls: list[Request] = []

    def handle(self, request: Request) -> Response:
        """Record the call; answer the next status."""
        self.calls.append(request)
        return Response(self.statuses.pop(0), {"ok": True})


def test_a_webhook_gets_the_reference_as_json_and_only_a_2xx_confirms() -> None:
    """The webhook receives the credential's reference (no secret); 2xx confirms, 500 does not."""
    with RevocationEndpoint([204, 500]) as endpoint:
        revoker = WebhookRevoker(f"http://127.0.0.1:{endpoint.port}/revoke")
        confirmed, detail = revoker.revoke("agent", CREDENTIAL, "contained: exfiltration")
        refused, refusal = revoker.revoke("agent", CREDENTIAL, "retired")
    assert (confirmed, detail) == (True, "HTTP 204")
    assert (refused, refusal) == (False, "HTTP 500")
    first = endpoint.calls[0]
    assert (first.method, first.path) == ("POST", "/revoke")
    assert first.json() == {
        "system_id": "agent",
        "credential_id": "agent-key",
        "kind": "api_key",
        "environment": "production",
        "vault_ref": "vault://kv/prod/agent",
        "reason": "contained: exfiltration",
    }


def test_settings_choose_the_revoker(tmp_path: Path) -> None:
    """A command wins over a recording file; nothing configured means manual revocation."""
    record = tmp_path / "calls.jsonl"
    assert isinstance(
        revoker_from_settings(RevokerSettings(command="true", record_file=record)), ShellRevoker
    )
    webhook = RevokerSettings(webhook_url="https://revoke.example/hook", record_file=record)
    assert isinstance(revoker_from_settings(webhook), WebhookRevoker)
    recorder = revoker_from_settings(RevokerSettings(record_file=record))
    assert isinstance(recorder, RecordingRevoker)
    recorder.revoke("agent", CREDENTIAL, "retired")
    assert recorder.calls()[0]["credential_id"] == "agent-key"
    manual = revoker_from_settings(RevokerSettings())
    assert isinstance(manual, ManualRevoker)
    confirmed, detail = manual.revoke("agent", CREDENTIAL, "retired")
    assert confirmed and "by hand" in detail and "vault://kv/prod/agent" in detail
