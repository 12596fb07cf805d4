"""Encrypted histories: with encryption keys set, a real registration leaves only ciphertext in
Temporal, the history replays with the same converter, and still replays after a key rotation."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from google.protobuf.message import Message
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from core.codec import ENCODING, CodecError, EncryptionCodec, KeyRing
from core.settings import Settings
from core.temporal import connect, data_converter
from domain.contracts import system_workflow_id
from tests.e2e.test_promotion_tour import register_and_request
from tests.harness import REQUESTER, make_settings, running_stack
from tests.temporal.secured import production_stack, register_support_assistant
from worker import WORKFLOWS, workflow_runner

pytestmark = pytest.mark.devserver
OLD = f"k1:{base64.b64encode(os.urandom(32)).decode()}"
NEW = f"k2:{base64.b64encode(os.urandom(32)).decode()}"
SECRETS = (b"dana.business@example.com", b"tom.tech@example.com", b"Support Assistant")


def payloads(history: WorkflowHistory) -> list[Payload]:
    """Every payload in a history, wherever in the events it sits."""
    found: list[Payload] = []

    def walk(message: Message) -> None:
        if isinstance(message, Payload):
            found.append(message)
            return
        for _, value in message.ListFields():
            if isinstance(value, Message):
                walk(value)
            elif isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
                items = value.values() if isinstance(value, Mapping) else value
                for item in items:
                    if isinstance(item, Message):
                        walk(item)

    for event in history.events:
        walk(event)
    return found


def replayer(keys: str) -> Replayer:
    """A replayer using the converter the worker would build for these keys."""
    settings = Settings(temporal={"encryption_keys": SecretStr(keys)})
    return Replayer(
        workflows=WORKFLOWS,
        data_converter=data_converter(settings),
        workflow_runner=workflow_runner(),
    )


@pytest.fixture(scope="module")
async def recorded(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> WorkflowHistory:
    """The history of a system registered through the API with encryption key k1."""
    tmp_path: Path = tmp_path_factory.mktemp("encrypted")
    settings = make_settings(
        f"sqlite:///{tmp_path}/t.db",
        tmp_path,
        address=dev_env.client.service_client.config.target_host,
        encryption_keys=SecretStr(OLD),
    )
    async with production_stack(settings) as stack:
        assert (await register_support_assistant(stack))["state"] == "pilot"
        client = await connect(settings)
        workflow_id = system_workflow_id("support-assistant", settings.temporal.workflow_id_prefix)
        return await client.get_workflow_handle(workflow_id).fetch_history()


async def test_history_holds_only_ciphertext(recorded: WorkflowHistory) -> None:
    """No owner e-mail or system name appears anywhere in the stored history; every payload is encrypted."""
    raw = b"".join(event.SerializeToString() for event in recorded.events)
    raw += recorded.to_json().encode()
    for secret in SECRETS:
        assert secret not in raw
    found = payloads(recorded)
    assert found, "the history has payloads"
    assert {p.metadata["encoding"] for p in found} == {ENCODING}
    opened = await EncryptionCodec(KeyRing.parse(OLD)).decode(found)
    assert any(SECRETS[0] in p.data for p in opened)  # the same bytes, decrypted, hold the manifest


def activation_failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Workflow activations the replayer could not handle (it reports decode errors only as logs)."""
    return [
        f"{record.getMessage()} {record.exc_text or record.exc_info}"
        for record in caplog.records
        if record.name.startswith("temporalio.worker") and record.levelname == "ERROR"
    ]


async def test_encrypted_history_replays_with_the_same_keys(
    recorded: WorkflowHistory, caplog: pytest.LogCaptureFixture
) -> None:
    """Replaying the encrypted history with the worker's converter decodes every task cleanly."""
    result = await replayer(OLD).replay_workflow(recorded, raise_on_replay_failure=True)
    assert result.replay_failure is None
    assert activation_failures(caplog) == []


async def test_encrypted_history_replays_after_rotation(
    recorded: WorkflowHistory, caplog: pytest.LogCaptureFixture
) -> None:
    """With a new key first and the old one second, the old history still decrypts and replays."""
    result = await replayer(f"{NEW},{OLD}").replay_workflow(recorded, raise_on_replay_failure=True)
    assert result.replay_failure is None
    assert activation_failures(caplog) == []
    reopened = await EncryptionCodec(KeyRing.parse(f"{NEW},{OLD}")).decode(payloads(recorded))
    assert all(p.metadata["encoding"] != ENCODING for p in reopened)


async def test_dropping_the_old_key_too_soon_fails_naming_it(
    recorded: WorkflowHistory, caplog: pytest.LogCaptureFixture
) -> None:
    """A ring without the key a history was written with cannot replay it, and names the key id."""
    await replayer(NEW).replay_workflow(recorded, raise_on_replay_failure=False)
    failures = activation_failures(caplog)
    assert failures and all("'k1', which is not in" in failure for failure in failures)
    with pytest.raises(CodecError, match="'k1'"):
        await EncryptionCodec(KeyRing.parse(NEW)).decode(payloads(recorded))


async def test_refusals_keep_their_reasons_when_encrypted(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """With encryption on, a refused approval still tells the caller why (the failure text is sealed, not lost)."""
    settings = make_settings(
        f"sqlite:///{tmp_path}/t.db",
        tmp_path,
        address=dev_env.client.service_client.config.target_host,
        encryption_keys=SecretStr(OLD),
    )
    async with running_stack(await connect(settings), settings) as stack:
        request_id = await register_and_request(stack)
        stack.token(REQUESTER, "approver")
        refused = await stack.call(
            "POST", f"/requests/{request_id}/decisions", REQUESTER, json={"approve": True}
        )
        assert refused.status_code == 403, refused.text
        assert "four-eyes" in refused.json()["error"]["message"]
