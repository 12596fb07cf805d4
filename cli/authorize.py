"""`threshold authorize SYSTEM`: ask before acting, as an agent runtime does."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from cli import render
from cli.client import DENIED, OK, connect, segment
from cli.options import Environment, JsonOpt

PENDING = 4  # require_approval still open (0 allow, 1 deny; 2 and 3 as every command)


class Access(StrEnum):
    """How the target is touched."""

    read = "read"
    write = "write"


CODES = {"allow": OK, "deny": DENIED, "require_approval": PENDING}


def authorize(
    ctx: typer.Context,
    system_id: str,
    tool: Annotated[str, typer.Option("--tool", help="The tool about to be called.")],
    access: Annotated[Access, typer.Option("--access", help="read or write.")] = Access.read,
    target: Annotated[str | None, typer.Option("--target", help="What it touches.")] = None,
    credential: Annotated[str | None, typer.Option("--credential", help="Credential id.")] = None,
    action: Annotated[str | None, typer.Option("--action", help="Action name.")] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="The model about to act (e.g. claude-sonnet).")
    ] = None,
    environment: Annotated[
        Environment, typer.Option("--environment", help="Where it runs.")
    ] = Environment.production,
    trace_id: Annotated[str, typer.Option("--trace-id", help="The runtime's trace id.")] = "cli",
    wait: Annotated[
        float, typer.Option("--wait", min=0, max=60, help="Seconds to wait on an approval.")
    ] = 0,
    as_json: JsonOpt = False,
) -> None:
    """May the system act now? Exit 0 allow, 1 deny, 4 require_approval (still open)."""
    api = connect(ctx)
    body = {
        "system": system_id,
        "environment": environment.value,
        "tool": tool,
        "access": access.value,
        "target": target,
        "credential_id": credential,
        "action": action,
        "model": model,
        "trace_id": trace_id,
    }
    result = api.post("/authorize", {k: v for k, v in body.items() if v is not None})
    if result.get("decision") == "require_approval" and wait > 0:
        path = f"/authorize/{segment(str(result['approval_id']))}"
        result = api.get(path, {"wait": wait})
    _answer(result, as_json)


def await_approval(
    ctx: typer.Context,
    approval_id: str,
    wait: Annotated[
        float, typer.Option("--wait", min=0, max=60, help="Seconds to wait for the decision.")
    ] = 30,
    as_json: JsonOpt = False,
) -> None:
    """Wait for a just-in-time approval's decision: exit 0 allow, 1 deny, 4 still open."""
    api = connect(ctx)
    _answer(api.get(f"/authorize/{segment(approval_id)}", {"wait": wait}), as_json)


def _answer(result: dict[str, Any], as_json: bool) -> None:
    """Print an authorize answer and exit with its code."""
    if as_json:
        render.echo_json(result)
    else:
        render.say(f"{result['decision']} ({result['system']} v{result['version']})", "bold")
        for reason in result.get("reasons", []):
            render.say(f"  {reason}")
        if result.get("approval_id") and result["decision"] == "require_approval":
            approval = result["approval_id"]
            render.say(f"  approval {approval} open until {result['expires_at']}")
            render.say(f"  decide: threshold approve {approval} (or Slack, the dashboard)")
            render.say(f"  wait:   threshold await-approval {approval}")
    raise typer.Exit(CODES.get(str(result.get("decision")), DENIED))
