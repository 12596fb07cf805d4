"""An MCP-style tool server whose tools ask Threshold before they run (plain Python, stdio).

Run: THRESHOLD_URL=http://127.0.0.1:8000 THRESHOLD_TOKEN=<emitter token> \
     python examples/governed_tools.py
then send one JSON request a line: {"id": 1, "method": "tools/call",
"params": {"name": "search_kb", "arguments": {"query": "refund"}}}
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from cli.governed import ActionDenied, Governor

gov = Governor(system="support-assistant", credential_id="support-assistant-crm-reader")


@gov.governed(tool="search_kb", access="read", target="kb.articles", mcp_server="support-tools")
def search_kb(query: str) -> list[str]:
    """Search the knowledge base (within the approved scope: allowed)."""
    return [f"article about {query}"]


@gov.governed(tool="search_kb", access="read", action="send reply to customer")
def send_reply(ticket: str, text: str) -> str:
    """Send a reply: its use case names a human approval, so this waits for one."""
    return f"sent to {ticket}"


@gov.governed(tool="update_ticket", access="write", target="crm.tickets")
def update_ticket(ticket: str, priority: str) -> str:
    """Write to the CRM: outside the approved scope, so Threshold denies it."""
    return f"{ticket} is now {priority}"


TOOLS: dict[str, Callable[..., Any]] = {
    "search_kb": search_kb,
    "send_reply": send_reply,
    "update_ticket": update_ticket,
}


def handle(request: dict[str, Any]) -> dict[str, Any]:
    """One JSON-RPC-like request: tools/list or tools/call."""
    if request.get("method") == "tools/list":
        return {"id": request.get("id"), "result": {"tools": sorted(TOOLS)}}
    params = request.get("params", {})
    try:
        result = TOOLS[params["name"]](**params.get("arguments", {}))
    except ActionDenied as denied:
        return {"id": request.get("id"), "error": {"code": 403, "message": str(denied)}}
    return {"id": request.get("id"), "result": result}


if __name__ == "__main__":
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(handle(json.loads(line))), flush=True)
