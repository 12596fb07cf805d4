"""`threshold approve|reject` and `threshold requests list|show`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli import render, views
from cli.client import connect, segment
from cli.options import (
    CommentOpt,
    JsonOpt,
    KeyOpt,
    LimitOpt,
    OffsetOpt,
    Output,
    OutputOpt,
    RequestStatusOpt,
    RoleOpt,
    SystemOpt,
)

app = typer.Typer(help="List and inspect approval requests.", no_args_is_help=True)


def approve(
    ctx: typer.Context,
    request_id: str,
    comment: CommentOpt = "",
    role: RoleOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve a request as your token's principal."""
    _decide(ctx, request_id, approve=True, comment=comment, role=role, key=key, as_json=as_json)


def reject(
    ctx: typer.Context,
    request_id: str,
    reason: Annotated[str, typer.Option("--reason", help="Why you reject (required).")],
    role: RoleOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject a request as your token's principal; the system returns to where it was."""
    _decide(ctx, request_id, approve=False, comment=reason, role=role, key=key, as_json=as_json)


def _decide(
    ctx: typer.Context,
    request_id: str,
    *,
    approve: bool,
    comment: str,
    role: str | None,
    key: str | None,
    as_json: bool,
) -> None:
    body: dict[str, Any] = {"approve": approve, "comment": comment}
    if role:
        body["role"] = role
    result = connect(ctx).post(f"/requests/{segment(request_id)}/decisions", body, key=key)
    if as_json:
        render.echo_json(result)
        return
    request = result.get("request", {})
    render.say(str(result.get("message", "")))
    status = request.get("status")
    if status == "pending":
        render.say(
            f"request {request.get('id')} still awaits: "
            f"{render.joined(render.pending_roles(request))}"
        )
    else:
        render.say(f"request {request.get('id')} is {status}", "bold")


@app.command("list")
def list_requests(
    ctx: typer.Context,
    mine: Annotated[bool, typer.Option("--mine", help="Only requests waiting for you.")] = False,
    system: SystemOpt = None,
    status: RequestStatusOpt = None,
    limit: LimitOpt = 50,
    offset: OffsetOpt = 0,
    as_json: JsonOpt = False,
    output: OutputOpt = Output.table,
) -> None:
    """List approval requests."""
    wanted = status.value if status else None
    params = {"system": system, "status": wanted, "limit": limit, "offset": offset}
    if mine:
        params["mine"] = True
    page = connect(ctx).get("/requests", params)
    if as_json or output is Output.json:
        render.echo_json(page)
    else:
        render.requests_page(page, output)


@app.command("show")
def show(ctx: typer.Context, request_id: str, as_json: JsonOpt = False) -> None:
    """Show a request: roles awaited, who may fill them, decisions, deadlines."""
    request = connect(ctx).get(f"/requests/{segment(request_id)}")
    if as_json:
        render.echo_json(request)
    else:
        views.request_detail(request)


def install(root: typer.Typer) -> None:
    """Add `approve`, `reject` and the `requests` group."""
    root.command("approve")(approve)
    root.command("reject")(reject)
    root.add_typer(app, name="requests")
