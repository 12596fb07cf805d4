"""API keys (Temporal Cloud style): every call carries `authorization: Bearer <key>` over TLS,
from settings or from an envconfig profile, and a wrong key fails with one line naming the setting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from core.temporal import TemporalConnectError, connect
from tests.harness import make_settings
from tests.temporal.conftest import SERVER_NAME, Pki
from tests.temporal.proxies import ApiKeyGate, api_key_proxy
from tests.temporal.secured import production_stack, register_support_assistant

pytestmark = pytest.mark.devserver
KEY = "tcld-key-0123456789abcdef"


@pytest.fixture
async def gate(dev_env: WorkflowEnvironment, pki: Pki) -> AsyncIterator[tuple[str, ApiKeyGate]]:
    """A TLS gRPC front door to the dev server that forwards only calls bearing KEY."""
    upstream = dev_env.client.service_client.config.target_host
    async with api_key_proxy(upstream, KEY, pki.server_ca, SERVER_NAME) as door:
        yield door


async def test_worker_and_api_send_the_api_key_on_every_call(
    gate: tuple[str, ApiKeyGate], pki: Pki, tmp_path: Path
) -> None:
    """With THRESHOLD_TEMPORAL__API_KEY set, a registration runs end to end; every call bore the key."""
    address, door = gate
    settings = make_settings(
        f"sqlite:///{tmp_path}/t.db",
        tmp_path,
        address=address,
        api_key=SecretStr(KEY),
        tls_ca_path=pki.ca_path,
        tls_server_name=SERVER_NAME,
    )
    async with production_stack(settings) as stack:
        system = await register_support_assistant(stack)
        assert system["state"] == "pilot"
    assert len(door.seen) > 3  # system info, the update, the worker's polls and completions
    assert set(door.seen) == {f"Bearer {KEY}"}


async def test_envconfig_profile_supplies_address_key_and_tls(
    gate: tuple[str, ApiKeyGate], pki: Pki, tmp_path: Path
) -> None:
    """A `temporal.toml` profile alone (address, namespace, key, CA, server name) connects both."""
    address, door = gate
    config = tmp_path / "temporal.toml"
    config.write_text(
        f'[profile.cloud]\naddress = "{address}"\nnamespace = "default"\napi_key = "{KEY}"\n'
        f'[profile.cloud.tls]\nserver_name = "{SERVER_NAME}"\n'
        f'server_ca_cert_path = "{pki.ca_path}"\n'
    )
    settings = make_settings(
        f"sqlite:///{tmp_path}/t.db", tmp_path, profile="cloud", config_file=config
    )
    async with production_stack(settings) as stack:
        assert (await register_support_assistant(stack))["state"] == "pilot"
    assert set(door.seen) == {f"Bearer {KEY}"}


async def test_wrong_api_key_names_the_setting_and_never_the_key(
    gate: tuple[str, ApiKeyGate], pki: Pki, tmp_path: Path
) -> None:
    """A rejected key fails in one line naming THRESHOLD_TEMPORAL__API_KEY, without echoing it."""
    address, door = gate
    settings = make_settings(
        "sqlite://",
        tmp_path,
        address=address,
        api_key=SecretStr("wrong-key-42"),
        tls_ca_path=pki.ca_path,
        tls_server_name=SERVER_NAME,
    )
    with pytest.raises(TemporalConnectError) as raised:
        await connect(settings)
    assert str(raised.value) == (
        f"cannot reach Temporal at {address}: the server refused the credentials (API key "
        "missing, wrong or expired) (check THRESHOLD_TEMPORAL__API_KEY)"
    )
    assert "wrong-key-42" not in str(raised.value)
    assert door.seen == ["Bearer wrong-key-42"]
