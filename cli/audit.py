"""`threshold audit verify|checkpoint|erase|events|export`: the hash-chained ledgers."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cli import render, views
from cli.client import DENIED, OK, USAGE, CliError, Problem, connect, segment
from cli.options import JsonOpt, KeyOpt, LimitOpt, OffsetOpt, Output, OutputOpt, SystemOpt

app = typer.Typer(help="Verify, checkpoint, erase and read the audit ledger.", no_args_is_help=True)

CheckpointOpt = Annotated[
    Path | None,
    typer.Option(
        "--checkpoint",
        help="A checkpoint file (`threshold audit checkpoint`): also prove its heads still hold.",
        show_default=False,
    ),
]


@app.command("verify")
def verify(
    ctx: typer.Context,
    system: SystemOpt = None,
    checkpoint: CheckpointOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recompute the hash chains: exit 0 if intact, 1 if broken (every broken chain shown)."""
    api = connect(ctx)
    if checkpoint is None:
        report = api.get("/audit/verify", {"system": system})
    else:
        body = {"checkpoint": _read_checkpoint(checkpoint)}
        report = api.post("/audit/verify", body, params={"system": system})
    if as_json:
        render.echo_json(report)
    else:
        views.verify(report)
    raise typer.Exit(OK if report.get("ok") is True else DENIED)


def _read_checkpoint(path: Path) -> Any:
    """A checkpoint file's JSON (a whole evidence pack's `checkpoint` is taken too)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CliError(
            f"cannot read {path}: {exc.strerror}", [Problem("--checkpoint", "pass a file")], USAGE
        ) from None
    except ValueError:
        raise CliError(
            f"{path} is not JSON",
            [Problem("--checkpoint", "pass the file `threshold audit checkpoint` wrote")],
            USAGE,
        ) from None
    if isinstance(data, dict) and isinstance(data.get("checkpoint"), dict):
        return data["checkpoint"]
    return data


@app.command("checkpoint")
def checkpoint(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """Sign every chain head now (admin); keep the file to detect a later rewrite."""
    signed = connect(ctx).post("/audit/checkpoints", {})
    text = json.dumps(signed, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(
        f"wrote {output}: {signed.get('chains')} chain heads ({signed.get('entries')} entries) "
        f"signed by {signed.get('key_id')}",
        err=True,
    )


@app.command("erase")
def erase(
    ctx: typer.Context,
    seq: Annotated[int, typer.Argument(help="The entry's seq in its system's chain.", min=1)],
    system: Annotated[
        str, typer.Option("--system", "-s", help="The system whose chain holds the entry.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the ledger).")],
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Erase one entry's content (admin); the chain still verifies and records the erasure."""
    path = f"/audit/systems/{segment(system)}/entries/{seq}/erase"
    erased = connect(ctx).post(path, {"reason": reason}, key=key)
    if as_json:
        render.echo_json(erased)
        return
    render.say(
        f"erased entry {seq} of {system}: erasure recorded as entry {erased.get('erasure_seq')} "
        f"by {erased.get('erased_by')} at {erased.get('erased_at')}",
        "bold green",
    )


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
