"""MCP `tools/list` snapshots sent as CloudEvents, end to end on the Temporal dev server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.e2e.test_scope_changes import (
    SYSTEM,
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
