"""AI-BOMs end to end: CycloneDX 1.6 ML-BOM export and manifest drafts from CycloneDX and SPDX 3."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli import client as cli_client
from cli.main import app as cli_app
from integrations.cyclonedx_bom import validation_error
from tests.e2e.test_scope_changes import (
    SYSTEM,
    AppBridge,
    cloudevent,
    in_production,
    send,
)
from tests.harness import REQUESTER, make_settings, running_stack

pytestmark = pytest.mark.devserver
SPDX = {
    "@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld",
    "@graph": [
        {"type": "Organization", "spdxId": "urn:org:acme", "name": "acme"},
        {
            "type": "ai_AIPackage",
            "spdxId": "urn:pkg:triage",
            "name": "Ticket Triage",
            "software_packageVersion": "2.1",
            "suppliedBy": "urn:org:acme",
            "ai_autonomyType": "yes",
        },
    ],
}


async def test_bom_export_validates_and_imports_back(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """The exported BOM is valid CycloneDX 1.6 with the model and MCP server, and reads back
    into a draft naming its owners, model and classification."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        await in_production(stack)
        tools = [{"name": "search", "annotations": {"readOnlyHint": True}}]
        listed = cloudevent({"server": "crm", "tools": tools}, "dev.threshold.mcp.tools_listed")
        assert (await send(stack, listed)).status_code == 200
        exported = await stack.call("GET", f"/systems/{SYSTEM}/bom", REQUESTER)
        assert exported.status_code == 200, exported.text
        bom = exported.json()
        assert validation_error(bom) is None
        assert bom["specVersion"] == "1.6"
        kinds = {c["type"] for c in bom["components"]}
        assert kinds == {"machine-learning-model", "data"}
        assert "crm" in [s["name"] for s in bom["services"]]
        model = next(c for c in bom["components"] if c["type"] == "machine-learning-model")
        assert "modelCard" in model

        drafted = await stack.call("POST", "/manifests/from-bom", REQUESTER, json=bom)
        assert drafted.status_code == 200, drafted.text
        draft = drafted.json()
        assert draft["source"] == "cyclonedx"
        assert draft["manifest"]["model"]["name"] == model["name"]
        assert draft["manifest"]["business_owner"]
        assert "data_classification" in draft["manifest"]
        assert "id: support-assistant" in draft["manifest_yaml"]
        missing = await stack.call("GET", "/systems/ticket-triage", REQUESTER)
        assert missing.status_code == 404  # drafting registers nothing
        assert (await stack.call("GET", "/systems/nope-nope/bom", REQUESTER)).status_code == 404


async def test_spdx_ai_package_drafts_and_lists_what_is_missing(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """An SPDX 3 ai_AIPackage gives model and autonomy; owners, use cases and classification are
    listed as missing; a non-BOM is refused naming the body."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        drafted = await stack.call("POST", "/manifests/from-bom", REQUESTER, json=SPDX)
        assert drafted.status_code == 200, drafted.text
        body = drafted.json()
        assert body["manifest"]["model"] == {
            "provider": "acme",
            "name": "Ticket Triage",
            "version": "2.1",
        }
        assert body["manifest"]["autonomy"] == "autonomous"
        assert [m["field"] for m in body["missing"]] == [
            "business_owner",
            "technical_owner",
            "use_cases",
            "data_classification",
        ]
        assert (await stack.call("GET", "/systems/ticket-triage", REQUESTER)).status_code == 404
        bad = await stack.call("POST", "/manifests/from-bom", REQUESTER, json={"hello": 1})
        assert bad.status_code == 422
        assert bad.json()["error"]["problems"][0]["field"] == "(body)"


async def test_cli_bom_and_import_bom_live(
    dev_env: WorkflowEnvironment,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`threshold systems bom` writes a valid ML-BOM and `import-bom` drafts from it, live."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        await in_production(stack)
        monkeypatch.setattr(cli_client, "TRANSPORT", AppBridge(stack, asyncio.get_running_loop()))
        token = ["--token", stack.tokens[REQUESTER]]
        target = tmp_path / "bom.json"
        run = CliRunner().invoke
        exported = await asyncio.to_thread(
            run, cli_app, [*token, "systems", "bom", SYSTEM, "-o", str(target)]
        )
        assert exported.exit_code == 0, exported.output
        assert validation_error(json.loads(target.read_text())) is None
        drafted = await asyncio.to_thread(
            run, cli_app, [*token, "systems", "import-bom", str(target)]
        )
        assert drafted.exit_code == 0, drafted.output
        assert f"id: {SYSTEM}" in drafted.stdout
