"""`threshold promote|gate|retire`: moving a system through its lifecycle."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import render, views
from cli.client import DENIED, OK, connect, segment
from cli.options import CommentOpt, Environment, JsonOpt, KeyOpt
from domain.lifecycle import Scope

ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (recorded in the audit ledger).")]


def promote(
    ctx: typer.Context,
    system_id: str,
    comment: CommentOpt = "",
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Request promotion to production; refused (exit 1) with every blocking gap."""
    path = f"/systems/{segment(system_id)}/promotion"
    result = connect(ctx).post(path, {"comment": comment}, key=key)
    if as_json:
        render.echo_json(result)
        return
    render.say(str(result.get("message", "")))
    system = result.get("system", {})
    request = system.get("pending_request")
    if not request:
        render.say(f"{system.get('system_id')}: {system.get('state')}", "bold")
        return
    render.say(f"request {request.get('id')}", "bold")
    eligible = request.get("eligible", {})
    for role in render.pending_roles(request):
        render.say(f"  awaiting {role}: {render.joined(eligible.get(role, []))}")


def gate(
    ctx: typer.Context,
    system_id: str,
    environment: Annotated[
        Environment, typer.Option("--environment", "-e", help="Where the deploy goes.")
    ] = Environment.production,
    scope: Annotated[
        Scope,
        typer.Option(
            "--scope", help="approved: what is approved; declared: the repository's manifest."
        ),
    ] = Scope.approved,
    as_json: JsonOpt = False,
) -> None:
    """May the system deploy now? Exit 0 allowed, 1 denied, 2 error or unknown system."""
    path = f"/systems/{segment(system_id)}/gate"
    result = connect(ctx).get(path, {"environment": environment.value, "scope": scope.value})
    if as_json:
        render.echo_json(result)
    else:
        views.gate(result)
    raise typer.Exit(OK if result.get("allowed") is True else DENIED)


def recertify(
    ctx: typer.Context,
    system_id: str,
    reject: Annotated[
        str | None,
        typer.Option("--reject", help="Refuse to recertify, with the reason.", show_default=False),
    ] = None,
    comment: CommentOpt = "",
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Attest the recertification checklist as an owner or security (opens the request if needed).

    Attesting confirms: access is still needed, data scope is unchanged, model behaviour was
    reviewed, credentials were rotated and are still separate from pilot.
    """
    path = f"/systems/{segment(system_id)}/recertification"
    body = {"approve": reject is None, "comment": reject if reject is not None else comment}
    result = connect(ctx).post(path, body, key=key)
    if as_json:
        render.echo_json(result)
        return
    render.say(str(result.get("message", "")))
    request = result.get("request", {})
    render.say(f"recertification {request.get('id')}: {request.get('status')}", "bold")


def retire(
    ctx: typer.Context,
    system_id: str,
    reason: ReasonOpt,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Retire a system for good: every gate closes (admin)."""
    path = f"/systems/{segment(system_id)}/retire"
    result = connect(ctx).post(path, {"reason": reason}, key=key)
    views.command_answer(result, as_json)


def contain(
    ctx: typer.Context,
    system_id: str,
    reason: ReasonOpt,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Contain a system now: every gate closes, credentials go to the revoker (admin)."""
    path = f"/systems/{segment(system_id)}/contain"
    result = connect(ctx).post(path, {"reason": reason}, key=key)
    views.command_answer(result, as_json)


def release(
    ctx: typer.Context,
    system_id: str,
    comment: CommentOpt = "",
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ask security and the owners to release a contained system."""
    path = f"/systems/{segment(system_id)}/release"
    result = connect(ctx).post(path, {"comment": comment}, key=key)
    views.command_answer(result, as_json)


def install(root: typer.Typer) -> None:
    """Add the lifecycle commands at the top level."""
    root.command("promote")(promote)
    root.command("gate")(gate)
    root.command("contain")(contain)
    root.command("release")(release)
    root.command("retire")(retire)
    root.command("recertify")(recertify)
