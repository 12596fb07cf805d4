"""The codec server routes the Temporal UI calls: admin-only decode/encode of protobuf JSON
payloads, CORS only for the configured UI origin, and clear refusals."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.testing import WorkflowEnvironment

from core.codec import EncryptionCodec, KeyRing, new_key
from core.temporal import venv_binary
from domain.contracts import system_workflow_id
from tests.harness import Stack, make_settings, running_stack, serve_api
from tests.temporal.secured import production_stack, register_support_assistant

pytestmark = pytest.mark.devserver
KEYS = f"k1:{new_key()}"
UI = "https://temporal-ui.example.com"
ADMIN = "admin@threshold.local"
VIEWER = "viewer@example.com"
PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"owner":"dana@example.com"}')


def body(*payloads: Payload) -> dict[str, object]:
    """A codec request body: protobuf Payloads as JSON, the way the Temporal UI sends it."""
    return json_format.MessageToDict(Payloads(payloads=payloads))


async def post(stack: Stack, path: str, principal: str | None, json: object) -> httpx.Response:
    """POST to a codec route as `principal` (None: no credentials) from the UI's origin."""
    headers = {"Origin": UI, "X-Namespace": "default"}
    if principal:
        headers |= stack.as_(principal)
    return await stack.http.post(path, json=json, headers=headers)


async def test_ui_decodes_what_the_worker_encrypted(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """An admin gets back the plain payload for a sealed one, and encode/decode round-trip via HTTP."""
    settings = make_settings(
        f"sqlite:///{tmp_path}/t.db",
        tmp_path,
        encryption_keys=SecretStr(KEYS),
        codec_cors_origins=f"{UI}, http://localhost:8233",
    )
    [sealed] = await EncryptionCodec(KeyRing.parse(KEYS)).encode([PLAIN])
    async with running_stack(dev_env.client, settings) as stack:
        decoded = await post(stack, "/codec/decode", ADMIN, body(sealed))
        assert decoded.status_code == 200, decoded.text
        assert decoded.headers["access-control-allow-origin"] == UI
        [payload] = decoded.json()["payloads"]
        assert base64.b64decode(payload["data"]) == PLAIN.data
        assert base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain"

        encoded = await post(stack, "/codec/encode", ADMIN, body(PLAIN))
        assert encoded.status_code == 200
        assert b"dana" not in str(encoded.json()).encode()
        again = await post(stack, "/codec/decode", ADMIN, encoded.json())
        assert again.json() == body(PLAIN)


async def test_only_admins_decode(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    """No credentials is 401, a viewer token 403 naming the role; an admin's dashboard cookie works."""
    settings = make_settings(
        f"sqlite:///{tmp_path}/t.db", tmp_path, encryption_keys=SecretStr(KEYS)
    )
    async with running_stack(dev_env.client, settings) as stack:
        anonymous = await post(stack, "/codec/decode", None, body(PLAIN))
        assert anonymous.status_code == 401
        viewer = await post(stack, "/codec/decode", VIEWER, body(PLAIN))
        assert viewer.status_code == 403
        assert "needs an admin token" in viewer.json()["error"]["message"]
        cookie = {"Cookie": f"threshold_session={stack.tokens[ADMIN]}"}
        signed_in = await stack.http.post("/codec/decode", json=body(PLAIN), headers=cookie)
        assert signed_in.status_code == 200, signed_in.text


async def test_cors_is_for_the_configured_ui_and_the_codec_routes_only(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The UI origin's preflight is allowed with credentials; another origin and other routes get no CORS."""
    settings = make_settings(
        f"sqlite:///{tmp_path}/t.db",
        tmp_path,
        encryption_keys=SecretStr(KEYS),
        codec_cors_origins=UI,
    )
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    async with running_stack(dev_env.client, settings) as stack:
        allowed = await stack.http.options("/codec/decode", headers={"Origin": UI, **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == UI
        assert allowed.headers["access-control-allow-credentials"] == "true"
        other = {"Origin": "https://evil.example", **preflight}
        refused = await stack.http.options("/codec/decode", headers=other)
        assert "access-control-allow-origin" not in refused.headers
        api = await stack.http.get("/api/v1/systems", headers={"Origin": UI, **stack.as_(ADMIN)})
        assert "access-control-allow-origin" not in api.headers


async def test_refusals_name_the_fix(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    """Encryption off is a 404 naming the setting; a body that is not Payloads JSON is a 400 naming `payloads`."""
    off = make_settings(f"sqlite:///{tmp_path}/off.db", tmp_path)
    async with running_stack(dev_env.client, off) as stack:
        response = await post(stack, "/codec/decode", ADMIN, body(PLAIN))
        assert response.status_code == 404
        assert "THRESHOLD_TEMPORAL__ENCRYPTION_KEYS" in response.text
    on = make_settings(f"sqlite:///{tmp_path}/on.db", tmp_path, encryption_keys=SecretStr(KEYS))
    async with running_stack(dev_env.client, on) as stack:
        bad = await post(stack, "/codec/decode", ADMIN, {"payloads": [{"data": "not base64 !"}]})
        assert bad.status_code == 400
        assert bad.json()["error"]["message"].startswith("payloads:")
        [foreign] = await EncryptionCodec(KeyRing.parse(f"k9:{new_key()}")).encode([PLAIN])
        unknown = await post(stack, "/codec/decode", ADMIN, body(foreign))
        assert unknown.status_code == 400
        assert "'k9'" in unknown.json()["error"]["message"]


async def temporal_show(address: str, workflow_id: str, *codec: str) -> dict[str, Any]:
    """`temporal workflow show -o json` from the bundled Temporal CLI, optionally via a codec."""
    process = await asyncio.create_subprocess_exec(
        str(venv_binary("temporal")),
        "workflow",
        "show",
        "--address",
        address,
        "-w",
        workflow_id,
        "-o",
        "json",
        *codec,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    shown: dict[str, Any] = json.loads(out)
    return shown


def started_input(history: dict[str, Any]) -> Payload:
    """The first event's input payload, as the CLI printed it."""
    attributes = history["events"][0]["workflowExecutionStartedEventAttributes"]
    return json_format.ParseDict(attributes["input"]["payloads"][0], Payload())


async def test_temporal_cli_reads_an_encrypted_history_through_the_codec(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The real `temporal workflow show --codec-endpoint` shows the manifest an encrypted history hides."""
    address = dev_env.client.service_client.config.target_host
    settings = make_settings(
        f"sqlite:///{tmp_path}/t.db", tmp_path, address=address, encryption_keys=SecretStr(KEYS)
    )
    async with production_stack(settings) as stack:
        await register_support_assistant(stack)
        workflow_id = system_workflow_id("support-assistant", settings.temporal.workflow_id_prefix)
        admin = stack.token(ADMIN, "admin")
        async with serve_api(stack.app, lifespan="off") as url:
            sealed = started_input(await temporal_show(address, workflow_id))
            opened = started_input(
                await temporal_show(
                    address,
                    workflow_id,
                    "--codec-endpoint",
                    f"{url}/codec",
                    "--codec-auth",
                    f"Bearer {admin}",
                )
            )
    assert sealed.metadata["encoding"] == b"binary/encrypted"
    assert b"dana.business@example.com" not in sealed.data
    assert opened.metadata["encoding"] == b"json/plain"
    assert b"dana.business@example.com" in opened.data
