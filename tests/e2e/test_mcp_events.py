"""MCP `tools/list` snapshots sent as CloudEvents (API and CLI), end to end on the dev server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli import client as cli_client
from cli.main import app as cli_app
from tests.e2e.test_scope_changes import (
    SYSTEM,
    AppBridge,
    cloudevent,
    decide,
    in_production,
    send,
)
from tests.harness import REQUESTER, SECURITY, TECH, make_settings, running_stack

pytestmark = pytest.mark.devserver
LISTED = "dev.threshold.mcp.tools_listed"
READ = {"readOnlyHint": True, "destructiveHint": False}
WRITE = {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": False}


def listing(**tools: dict[str, bool]) -> dict[str, Any]:
    """A CloudEvent carrying the crm server's `tools/list` result."""
    result = [
        {"name": name, "description": name, "inputSchema": {"type": "object"}, "annotations": hints}
        for name, hints in tools.items()
    ]
    return cloudevent(
        {"server": "crm", "url": "https://mcp.example.com/crm", "tools": result}, LISTED
    )


async def test_mcp_snapshot_revalidates_new_and_destructive_tools(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """New MCP tools and a tool turning destructive open revalidations; relisting or removing is
    recorded without one."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        await in_production(stack)
        first = (await send(stack, listing(search=READ, export=READ))).json()
        assert first["material"] is True, first
        assert (
            first["assessment"]["reasons"][0]["message"] == "new MCP tool: crm/search, crm/export"
        )
        for who in (TECH, SECURITY):
            assert (await decide(stack, first["request_id"], who)).status_code == 200
        shown = (await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)).json()
        assert [t["name"] for t in shown["approved_manifest"]["mcp_servers"][0]["tools"]] == [
            "search",
            "export",
        ]

        again = (await send(stack, listing(search=READ, export=READ))).json()
        assert not again["material"], again  # no change: nothing to assess
        assert again["state"] == "production"

        destructive = (await send(stack, listing(search=READ, export=WRITE))).json()
        assert destructive["material"] is True
        assert [r["code"] for r in destructive["assessment"]["reasons"]] == ["new_write_access"]
        assert destructive["state"] == "revalidation_pending"


async def test_mcp_removal_is_recorded_only(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """After approving a snapshot, listing fewer tools is a non-material, recorded change."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        await in_production(stack)
        first = (await send(stack, listing(search=READ, export=READ))).json()
        for who in (TECH, SECURITY):
            assert (await decide(stack, first["request_id"], who)).status_code == 200
        fewer = await send(stack, listing(search=READ))
        assert fewer.status_code == 200, fewer.text
        body = fewer.json()
        assert body["material"] is False
        assert "tool_removed" in [r["code"] for r in body["assessment"]["recorded_only"]]
        bad = await send(stack, cloudevent({"server": "crm", "tools": [{"name": ""}]}, LISTED))
        assert bad.status_code == 422
        assert bad.json()["error"]["problems"][0]["field"].startswith("data.tools[0]")


async def test_cli_mcp_tools_exit_codes(
    dev_env: WorkflowEnvironment,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`threshold event mcp-tools` exits 1 while new tools await revalidation, 0 once approved
    and the same list is sent again."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        await in_production(stack)
        monkeypatch.setattr(cli_client, "TRANSPORT", AppBridge(stack, asyncio.get_running_loop()))
        tools = tmp_path / "tools.json"
        tools.write_text(json.dumps({"tools": listing(search=READ)["data"]["tools"]}))
        args = ["--token", stack.tokens[REQUESTER], "event", "mcp-tools", SYSTEM, "--server"]
        args += ["crm", "--file", str(tools), "--json"]

        def run() -> Any:
            return CliRunner().invoke(cli_app, args)

        waiting = await asyncio.to_thread(run)
        assert waiting.exit_code == 1, waiting.output
        body = json.loads(waiting.stdout)
        assert body["assessment"]["reasons"][0]["message"] == "new MCP tool: crm/search"
        for who in (TECH, SECURITY):
            assert (await decide(stack, body["request_id"], who)).status_code == 200
        again = await asyncio.to_thread(run)
        assert again.exit_code == 0, again.output
        relisted = json.loads(again.stdout)
        assert not relisted["material"], relisted  # no change: nothing to assess
        assert relisted["state"] == "production"
