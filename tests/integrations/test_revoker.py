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
    revoker_from_settings,
)

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


def test_settings_choose_the_revoker(tmp_path: Path) -> None:
    """A command wins over a recording file; nothing configured means manual revocation."""
    record = tmp_path / "calls.jsonl"
    assert isinstance(
        revoker_from_settings(RevokerSettings(command="true", record_file=record)), ShellRevoker
    )
    recorder = revoker_from_settings(RevokerSettings(record_file=record))
    assert isinstance(recorder, RecordingRevoker)
    recorder.revoke("agent", CREDENTIAL, "retired")
    assert recorder.calls()[0]["credential_id"] == "agent-key"
    manual = revoker_from_settings(RevokerSettings())
    assert isinstance(manual, ManualRevoker)
    confirmed, detail = manual.revoke("agent", CREDENTIAL, "retired")
    assert confirmed and "by hand" in detail and "vault://kv/prod/agent" in detail
