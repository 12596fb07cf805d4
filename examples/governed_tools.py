"""An MCP tool server (the official `mcp` SDK, stdio) whose tools ask Threshold before they run.

Run: THRESHOLD_URL=http://127.0.0.1:8000 THRESHOLD_TOKEN=<emitter token> \
     python examples/governed_tools.py
and point an MCP client (Claude Desktop, `mcp` Client, an agent framework) at it over stdio.
`pip install mcp` first; Threshold itself does not depend on it.

Each tool carries the MCP annotations the manifest's `mcp_servers` declares, so the server's
`tools/list` can be sent as-is as a `dev.threshold.mcp.tools_listed` snapshot
(`threshold event mcp-tools`). A denied call is an MCP tool error naming why; a call under
human approval waits for the person's decision.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from cli.governed import ActionDenied, Governor

SERVER = "support-tools"
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)

gov = Governor(
    system=os.environ.get("THRESHOLD_SYSTEM", "support-assistant"),
    credential_id=os.environ.get("THRESHOLD_CREDENTIAL", "support-assistant-crm-reader"),
    approval_wait=float(os.environ.get("THRESHOLD_APPROVAL_WAIT", "300")),
)
server = MCPServer(SERVER, instructions="Support tools governed by Threshold.")


def says_why(tool: Callable[..., Awaitable[str]]) -> Callable[..., Awaitable[str]]:
    """Turn Threshold's deny into an MCP tool error the model can read."""

    @functools.wraps(tool)
    async def run(*args: Any, **kwargs: Any) -> str:
        try:
            return await tool(*args, **kwargs)
        except ActionDenied as denied:
            raise ToolError(f"Threshold denied {tool.__name__}: {denied}") from None

    return run


@server.tool(annotations=READ_ONLY)
@says_why
@gov.governed(tool="search_kb", access="read", target="kb.articles", mcp_server=SERVER)
async def search_kb(query: str) -> str:
    """Search the knowledge base (within the approved scope: allowed)."""
    return f"article about {query}"


@server.tool(annotations=READ_ONLY)
@says_why
@gov.governed(tool="search_kb", access="read", action="send reply to customer")
async def send_reply(ticket: str, text: str) -> str:
    """Send a reply: its use case names a human approval, so this waits for one."""
    return f"sent to {ticket}: {text}"


@server.tool(annotations=WRITES)
@says_why
@gov.governed(tool="update_ticket", access="write", target="crm.tickets", mcp_server=SERVER)
async def update_ticket(ticket: str, priority: str) -> str:
    """Write to the CRM: outside the approved scope, so Threshold denies it."""
    return f"{ticket} is now {priority}"


if __name__ == "__main__":
    server.run("stdio")
