"""`threshold exceptions grant|list|revoke`: time-boxed waivers of one gap."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli import render, views
from cli.client import connect, segment
from cli.options import JsonOpt, KeyOpt, Output, OutputOpt

app = typer.Typer(help="Time-boxed exceptions (waivers of one gap), approved by security.")


@app.command("grant")
def grant(
    ctx: typer.Context,
    system_id: str,
    gap: Annotated[
        str, typer.Option("--gap", help="The gap code to waive, e.g. no_logging_policy.")
    ],
    until: Annotated[str, typer.Option("--until", help="End date (YYYY-MM-DD) or timestamp.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the gap may be waived.")],
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ask security to waive one gap until a date (security must approve it)."""
    body = {"gap": gap, "until": until, "reason": reason}
    result = connect(ctx).post(f"/systems/{segment(system_id)}/exceptions", body, key=key)
    views.command_answer(result, as_json)


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    system_id: str,
    exception: Annotated[str, typer.Argument(help="The exception's request id, or its gap.")],
    reason: Annotated[str, typer.Option("--reason", help="Why.")] = "",
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """End an exception early: its gap counts again at once."""
    path = f"/systems/{segment(system_id)}/exceptions/{segment(exception)}/revoke"
    result = connect(ctx).post(path, {"reason": reason}, key=key)
    views.command_answer(result, as_json)


@app.command("list")
def list_exceptions(
    ctx: typer.Context,
    expiring_within: Annotated[
        str | None, typer.Option("--expiring-within", help="Only those ending within, e.g. 14d.")
    ] = None,
    system: Annotated[str | None, typer.Option("--system", help="One system only.")] = None,
    as_json: JsonOpt = False,
    output: OutputOpt = Output.table,
) -> None:
    """Active exceptions, soonest expiry first."""
    params: dict[str, Any] = {"expiring_within": expiring_within, "system": system}
    found = connect(ctx).get("/exceptions", params)
    if as_json or output is Output.json:
        render.echo_json(found)
        return
    rows = [
        (
            item["system_id"],
            item["exception"]["gap"],
            render.when(item["exception"]["until"]),
            item["exception"]["request_id"],
            render.joined(item["exception"].get("granted_by", [])),
            item["exception"]["reason"],
        )
        for item in found
    ]
    columns = ("system", "gap", "until", "request", "granted by", "reason")
    render.show(render.table(columns, rows), output)
