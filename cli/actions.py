"""`threshold actions ingest`, `threshold trace`: the action ledger from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress

from cli import render
from cli.client import DENIED, OK, CliError, Problem, connect
from cli.options import JsonOpt

app = typer.Typer(help="The action ledger: what AI systems did, with the credential each used.")
BATCH = 5_000


def _batches(path: Path, size: int) -> list[bytes]:
    """The file's non-empty lines, grouped into JSON-lines bodies of `size` records."""
    try:
        lines = [line for line in path.read_bytes().splitlines() if line.strip()]
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        try:
            json.loads(line)
        except ValueError:
            raise CliError(
                f"{path}:{number} is not a JSON object",
                [Problem(f"{path}:{number}", "fix the line")],
            ) from None
    return [b"\n".join(lines[i : i + size]) for i in range(0, len(lines), size)]


@app.command("ingest")
def ingest(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .jsonl file.")],
    batch: Annotated[int, typer.Option(min=1, max=50_000, help="Records per request.")] = BATCH,
    as_json: JsonOpt = False,
) -> None:
    """Append action records (JSON lines); exit 1 when any record was a finding."""
    api = connect(ctx)
    totals: dict[str, Any] = {"accepted": 0, "duplicates": 0, "findings": 0, "first_findings": []}
    bodies = _batches(file, batch)
    with Progress(transient=True, disable=as_json) as progress:
        task = progress.add_task("ingesting", total=len(bodies))
        for body in bodies:
            result = api.send_document("POST", "/actions", body, "application/x-ndjson", None)
            for name in ("accepted", "duplicates", "findings"):
                totals[name] += result[name]
            totals["first_findings"] += result["first_findings"]
            progress.advance(task)
    if as_json:
        render.echo_json(totals)
    else:
        render.say(
            f"{totals['accepted']} recorded, {totals['duplicates']} already recorded, "
            f"{totals['findings']} finding(s)"
        )
        for found in totals["first_findings"]:
            render.say(
                f"  first {found['code']} on {found['system_id']}: {found['message']}", "bold red"
            )
    raise typer.Exit(DENIED if totals["findings"] else OK)


def trace(
    ctx: typer.Context,
    credential: Annotated[str | None, typer.Option(help="Every action of this credential.")] = None,
    system: Annotated[str | None, typer.Option(help="Every action of this system.")] = None,
    since: Annotated[str | None, typer.Option(help="24h, 7d, 30m or an ISO time.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Actions listed.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """What a credential (or a system) did, and its blast radius."""
    if credential is None and system is None:
        raise CliError("name a credential or a system", [Problem("--credential", "or --system")])
    params = {"credential": credential, "system": system, "since": since, "limit": limit}
    found = connect(ctx).get("/trace", params)
    if as_json:
        render.echo_json(found)
        return
    _blast_radius(found)


def _blast_radius(found: dict[str, Any]) -> None:
    def counts(name: str) -> str:
        return render.joined(f"{k} ({n})" for k, n in found.get(name, {}).items())

    render.say(
        f"{found['count']} action(s) from {found.get('first')} to {found.get('last')}", "bold"
    )
    for label, name in (
        ("systems", "systems"),
        ("credentials", "credentials"),
        ("kinds", "kinds"),
        ("tools", "tools"),
        ("targets", "targets"),
        ("models", "models"),
        ("findings", "findings"),
    ):
        render.say(f"  {label}: {counts(name)}")
    for bound in found.get("bound_to", []):
        render.say(
            f"  bound to {bound['system_id']} ({bound['state']}, {bound['environment']}): "
            f"scopes {render.joined(bound['scopes'])}; revocation {bound.get('revocation') or '-'}"
        )
    rows = [
        (
            a["at"],
            a["chain_id"],
            a["kind"],
            a.get("tool") or "-",
            a.get("target") or "-",
            a.get("model") or "-",
            a.get("credential_id") or "-",
            a.get("approved_by") or "-",
            a["trace_id"],
        )
        for a in found.get("actions", [])
    ]
    columns = (
        "at",
        "system",
        "kind",
        "tool",
        "target",
        "model",
        "credential",
        "approved by",
        "trace",
    )
    render.show(render.table(columns, rows, title="Latest actions"))
