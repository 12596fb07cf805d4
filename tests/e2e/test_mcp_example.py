"""The agent-side example: a real MCP server (official `mcp` SDK, stdio) whose tools ask
Threshold first, driven by the SDK's own client."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from temporalio.testing import WorkflowEnvironment

from tests.e2e.test_authorize import approve_pending_action, authorize, in_production
from tests.e2e.test_credentials_actions import settings_for
from tests.e2e.test_promotion_tour import eventually
from tests.harness import REQUESTER, running_stack, serve_api

pytestmark = pytest.mark.devserver
ROOT = Path(__file__).resolve().parents[2]


def text_of(result: Any) -> str:
    """The text content of a tool result."""
    return " ".join(getattr(block, "text", "") for block in result.content)


async def test_mcp_tools_run_only_when_threshold_allows(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """Over MCP stdio: tools/list carries the annotations; an approved tool answers; an
    unapproved write is a tool error naming why (it never ran); a tool under human approval
    waits until the business owner approves, then answers."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)

        async def allowed() -> bool:
            return bool((await authorize(stack))["decision"] == "allow")

        assert await eventually(allowed)
        assert stack.app is not None
        async with serve_api(stack.app, lifespan="off") as url:
            params = StdioServerParameters(
                command=sys.executable,
                args=[str(ROOT / "examples" / "governed_tools.py")],
                env={
                    **os.environ,
                    "PYTHONPATH": str(ROOT),
                    "THRESHOLD_URL": url,
                    "THRESHOLD_TOKEN": stack.tokens[REQUESTER],
                    "THRESHOLD_APPROVAL_WAIT": "60",
                },
                cwd=str(ROOT),
            )
            async with Client(params) as mcp:
                listed = await mcp.list_tools()
                tools = {t.name: t for t in listed.tools}
                assert set(tools) == {"search_kb", "send_reply", "update_ticket"}
                update = tools["update_ticket"].annotations
                assert update is not None and update.destructive_hint is True

                found = await mcp.call_tool("search_kb", {"query": "refund"})
                assert not found.is_error and "article about refund" in text_of(found)

                refused = await mcp.call_tool("update_ticket", {"ticket": "T-1", "priority": "p1"})
                assert refused.is_error
                assert "tool update_ticket is not approved" in text_of(refused)
                assert "is now" not in text_of(refused)

                reply = asyncio.ensure_future(
                    mcp.call_tool("send_reply", {"ticket": "T-1", "text": "sorry"})
                )

                assert await eventually(lambda: approve_pending_action(stack), timeout=30)
                sent = await asyncio.wait_for(reply, 60)
                assert not sent.is_error and "sent to T-1: sorry" in text_of(sent)
