"""`threshold audit verify|events`: the hash-chained audit ledger."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import render, views
from cli.client import DENIED, OK, connect
from cli.options import JsonOpt, LimitOpt, OffsetOpt, SystemOpt

app = typer.Typer(help="Verify and read the audit ledger.", no_args_is_help=True)


@app.command("verify")
def verify(ctx: typer.Context, system: SystemOpt = None, as_json: JsonOpt = False) -> None:
    """Recompute the hash chains: exit 0 if intact, 1 if broken (first broken entry shown)."""
    report = connect(ctx).get("/audit/verify", {"system": system})
    if as_json:
        render.echo_json(report)
    else:
        views.verify(report)
    raise typer.Exit(OK if report.get("ok") is True else DENIED)


@app.command("events")
def events(
    ctx: typer.Context,
    system: SystemOpt = None,
    since: Annotated[
        str | None, typer.Option(help="Only events at or after this ISO time.")
    ] = None,
    limit: LimitOpt = 100,
    offset: OffsetOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Audit events, oldest first."""
    params = {"system": system, "since": since, "limit": limit, "offset": offset}
    rows = connect(ctx).get("/audit/events", params)
    if as_json:
        render.echo_json(rows)
    else:
        render.events_table(rows)
