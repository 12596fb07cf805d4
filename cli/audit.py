"""`threshold audit verify|events`: the hash-chained audit ledger."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli import render, views
from cli.client import DENIED, OK, USAGE, CliError, Problem, connect
from cli.options import JsonOpt, LimitOpt, OffsetOpt, Output, OutputOpt, SystemOpt

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
    output: OutputOpt = Output.table,
) -> None:
    """Audit events, oldest first."""
    params = {"system": system, "since": since, "limit": limit, "offset": offset}
    rows = connect(ctx).get("/audit/events", params)
    if as_json or output is Output.json:
        render.echo_json(rows)
    else:
        render.events_table(rows, output)


class PackFormat(StrEnum):
    """Evidence pack formats."""

    json = "json"
    csv = "csv"
    html = "html"


@app.command("export")
def export(
    ctx: typer.Context,
    system: SystemOpt = None,
    all_systems: Annotated[bool, typer.Option("--all", help="Every system.")] = False,
    fmt: Annotated[PackFormat, typer.Option("--format", help="json, csv or html.")] = (
        PackFormat.json
    ),
    since: Annotated[
        datetime | None, typer.Option(help="Only events from this date (ISO) on.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """An evidence pack (owners, approvals, changes, ledger head, control crosswalk)."""
    if (system is None) == (not all_systems):
        raise CliError(
            "say which systems to export",
            [Problem("--system", "pass --system ID for one system or --all for every system")],
            USAGE,
        )
    params = {
        "system": system,
        "all": "true" if all_systems else None,
        "format": fmt.value,
        "since": since.isoformat() if since else None,
    }
    text = connect(ctx).get_text("/audit/export", params)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output} ({fmt.value}, {len(text):,} characters)", err=True)
