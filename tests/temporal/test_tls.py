"""mTLS to Temporal: the worker and the API connect through a TLS-terminating proxy that demands
a client certificate, and each wrong setting fails with one line naming the setting to check."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from core.temporal import TemporalConnectError, connect
from tests.harness import ROOT, make_settings
from tests.temporal.conftest import SERVER_NAME, Pki
from tests.temporal.proxies import server_context, tls_proxy
from tests.temporal.secured import production_stack, register_support_assistant

pytestmark = pytest.mark.devserver


@pytest.fixture
async def mtls_address(dev_env: WorkflowEnvironment, pki: Pki) -> AsyncIterator[str]:
    """A TLS front door to the dev server that requires a client certificate from the client CA."""
    context = server_context(pki.server_ca, SERVER_NAME, client_ca=pki.client_ca)
    async with tls_proxy(dev_env.client.service_client.config.target_host, context) as address:
        yield address


def mtls(pki: Pki, address: str, **overrides: Any) -> dict[str, Any]:
    """Temporal settings for the proxy: custom CA, server name, client certificate and key."""
    return {
        "address": address,
        "tls_ca_path": pki.ca_path,
        "tls_server_name": SERVER_NAME,
        "tls_cert_path": pki.cert_path,
        "tls_key_path": pki.key_path,
        **overrides,
    }


async def test_worker_and_api_register_a_system_over_mtls(
    mtls_address: str, pki: Pki, tmp_path: Path
) -> None:
    """With CA, server name and client certificate set, a registration runs end to end via mTLS."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path, **mtls(pki, mtls_address))
    async with production_stack(settings) as stack:
        system = await register_support_assistant(stack)
        assert system["state"] == "pilot"
        shown = await stack.http.get("/api/v1/systems/support-assistant")
        assert shown.json()["state"] == "pilot"


async def expect_failure(settings: Any) -> str:
    """The one-line message a connect with these settings fails with."""
    with pytest.raises(TemporalConnectError) as raised:
        await connect(settings)
    message = str(raised.value)
    assert "\n" not in message
    return message


async def test_wrong_ca_names_the_ca_setting(mtls_address: str, pki: Pki, tmp_path: Path) -> None:
    """A CA the server's certificate does not chain to fails naming THRESHOLD_TEMPORAL__TLS_CA_PATH."""
    wrong = mtls(pki, mtls_address, tls_ca_path=pki.stranger_ca_path)
    message = await expect_failure(make_settings("sqlite://", tmp_path, **wrong))
    assert message == (
        f"cannot reach Temporal at {mtls_address}: TLS certificate verify failed: the server's "
        "certificate does not chain to the CA (check THRESHOLD_TEMPORAL__TLS_CA_PATH)"
    )


async def test_wrong_server_name_names_the_name_setting(
    mtls_address: str, pki: Pki, tmp_path: Path
) -> None:
    """A server name the certificate does not carry fails naming TLS_SERVER_NAME."""
    wrong = mtls(pki, mtls_address, tls_server_name="elsewhere.test")
    message = await expect_failure(make_settings("sqlite://", tmp_path, **wrong))
    assert message.startswith(f"cannot reach Temporal at {mtls_address}: TLS server name mismatch")
    assert message.endswith("(check THRESHOLD_TEMPORAL__TLS_SERVER_NAME)")


@pytest.mark.parametrize("client", ["none", "untrusted"])
async def test_missing_or_untrusted_client_certificate_names_the_cert_settings(
    mtls_address: str, pki: Pki, tmp_path: Path, client: str
) -> None:
    """Without a client certificate, or with one from another CA, the proxy refuses; the line says which settings."""
    if client == "none":
        wrong = mtls(pki, mtls_address, tls_cert_path=None, tls_key_path=None)
    else:
        wrong = mtls(
            pki,
            mtls_address,
            tls_cert_path=pki.stranger_cert_path,
            tls_key_path=pki.stranger_key_path,
        )
    message = await expect_failure(make_settings("sqlite://", tmp_path, **wrong))
    assert message == (
        f"cannot reach Temporal at {mtls_address}: the server closed the TLS connection (client "
        "certificate missing or not trusted?) (check THRESHOLD_TEMPORAL__TLS_CERT_PATH and "
        "TLS_KEY_PATH)"
    )


async def test_missing_certificate_file_names_its_setting(pki: Pki, tmp_path: Path) -> None:
    """A CA path that does not exist fails before any network call, naming the setting and path."""
    wrong = mtls(pki, "127.0.0.1:1", tls_ca_path=tmp_path / "nope.pem")
    message = await expect_failure(make_settings("sqlite://", tmp_path, **wrong))
    assert message == f"THRESHOLD_TEMPORAL__TLS_CA_PATH: no such file {tmp_path / 'nope.pem'}"


async def test_plain_client_to_tls_server_suggests_tls(mtls_address: str, tmp_path: Path) -> None:
    """A plain-text client at a TLS port is told the server may expect TLS."""
    message = await expect_failure(make_settings("sqlite://", tmp_path, address=mtls_address))
    assert "does it expect TLS?" in message
    assert "THRESHOLD_TEMPORAL__TLS" in message


@pytest.mark.parametrize(
    "command", [["-m", "cli", "temporal", "check"], ["worker.py"]], ids=["cli-check", "worker"]
)
async def test_processes_report_a_wrong_ca_in_one_line(
    pki: Pki, tmp_path: Path, command: list[str]
) -> None:
    """`threshold temporal check` and `python worker.py` with a wrong CA exit 2 with one line."""
    context = server_context(pki.server_ca, SERVER_NAME, client_ca=None)
    async with tls_proxy("127.0.0.1:1", context) as address:
        env = {
            **os.environ,
            "THRESHOLD_DATABASE_URL": f"sqlite:///{tmp_path}/t.db",
            "THRESHOLD_LOG_LEVEL": "WARNING",  # the worker logs its migrations at INFO
            "THRESHOLD_TEMPORAL__ADDRESS": address,
            "THRESHOLD_TEMPORAL__TLS_CA_PATH": str(pki.stranger_ca_path),
            "THRESHOLD_TEMPORAL__TLS_SERVER_NAME": SERVER_NAME,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, *command, cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE
        )
        _, err = await process.communicate()
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert process.returncode == 2, err.decode()
    assert len(lines) == 1, err.decode()
    assert f"cannot reach Temporal at {address}: TLS certificate verify failed" in lines[0]
    assert lines[0].endswith("(check THRESHOLD_TEMPORAL__TLS_CA_PATH)")
