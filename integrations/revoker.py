"""Credential revokers: hand a credential to whatever revokes it and say whether it confirmed.

Configured in settings (`THRESHOLD_REVOKER__COMMAND`, `THRESHOLD_REVOKER__WEBHOOK_URL`,
`THRESHOLD_REVOKER__RECORD_FILE`); without any, revocation is recorded in Threshold only and
the secret must be revoked by hand at its vault reference (the confirmation says so).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Protocol

import httpx

from core.settings import RevokerSettings
from domain.manifest import Credential


class Revocation(Protocol):
    """What any revoker answers: confirmed, and its own words."""

    def revoke(self, system_id: str, credential: Credential, reason: str) -> tuple[bool, str]:
        """Revoke one credential; (confirmed, detail)."""
        ...


def _payload(system_id: str, credential: Credential, reason: str) -> dict[str, str]:
    """What a revoker is told (a reference to the secret, never the secret)."""
    return {
        "system_id": system_id,
        "credential_id": credential.id,
        "kind": credential.kind.value,
        "environment": credential.environment.value,
        "vault_ref": credential.vault_ref,
        "reason": reason,
    }


class ShellRevoker:
    """Runs a command (split like a shell would, no shell); exit 0 confirms (`THRESHOLD_REVOKE_*` vars)."""

    name = "command"

    def __init__(self, command: str, timeout: float = 60.0) -> None:
        self._command = command
        self._timeout = timeout

    def revoke(self, system_id: str, credential: Credential, reason: str) -> tuple[bool, str]:
        """Run the command once; its exit status decides."""
        env = dict(os.environ)
        env.update(
            {
                f"THRESHOLD_REVOKE_{k.upper()}": v
                for k, v in _payload(system_id, credential, reason).items()
            }
        )
        done = subprocess.run(
            shlex.split(self._command),
            env=env,
            capture_output=True,
            text=True,
            timeout=self._timeout,
            check=False,
        )
        output = (done.stdout + done.stderr).strip()[-500:]
        return done.returncode == 0, f"exit {done.returncode}: {output}".strip()


class WebhookRevoker:
    """POSTs the credential as JSON; a 2xx answer confirms."""

    name = "webhook"

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self._url = url
        self._timeout = timeout

    def revoke(self, system_id: str, credential: Credential, reason: str) -> tuple[bool, str]:
        """POST once; the status decides (transport errors raise, Temporal retries)."""
        response = httpx.post(
            self._url, json=_payload(system_id, credential, reason), timeout=self._timeout
        )
        return response.is_success, f"HTTP {response.status_code}"


class RecordingRevoker:
    """Appends each call as a JSON line to a file and confirms (tests, dry runs)."""

    name = "record"

    def __init__(self, path: Path) -> None:
        self._path = path

    def revoke(self, system_id: str, credential: Credential, reason: str) -> tuple[bool, str]:
        """Record the call and confirm it."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(_payload(system_id, credential, reason)) + "\n")
        return True, f"recorded in {self._path}"

    def calls(self) -> list[dict[str, str]]:
        """Every call recorded so far."""
        if not self._path.exists():
            return []
        return [json.loads(line) for line in self._path.read_text().splitlines() if line]


class ManualRevoker:
    """No revoker configured: Threshold records the revocation; a person revokes the secret."""

    name = "manual"

    def revoke(self, system_id: str, credential: Credential, reason: str) -> tuple[bool, str]:
        """Confirm that Threshold marked it revoked, and say what a person must still do."""
        return True, (
            f"no revoker configured: marked revoked in Threshold; revoke the secret at "
            f"{credential.vault_ref} by hand"
        )


def revoker_from_settings(
    settings: RevokerSettings,
) -> ShellRevoker | WebhookRevoker | RecordingRevoker | ManualRevoker:
    """The configured revoker: a command, a webhook, a recording file, or manual."""
    if settings.command:
        return ShellRevoker(settings.command)
    if settings.webhook_url:
        return WebhookRevoker(settings.webhook_url)
    if settings.record_file is not None:
        return RecordingRevoker(settings.record_file)
    return ManualRevoker()
