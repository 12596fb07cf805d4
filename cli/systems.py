"""`threshold systems register|amend|list|show`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from cli import render, views
from cli.client import CliError, Problem, connect, segment
from cli.options import (
    JsonOpt,
    KeyOpt,
    LimitOpt,
    OffsetOpt,
    Output,
    OutputOpt,
    StateOpt,
    TierOpt,
)

app = typer.Typer(help="Register, amend, list and inspect AI systems.", no_args_is_help=True)

YAML_SUFFIXES = {".yaml", ".yml"}
ManifestFile = Annotated[
    Path,
    typer.Argument(
        exists=True, dir_okay=False, readable=True, help="Manifest file (.yaml/.yml or .json)."
    ),
]


@dataclass(frozen=True)
class Manifest:
    """A manifest file's bytes, how to send them, and the system id it declares."""

    content: bytes
    content_type: str
    system_id: str | None


def read_manifest(path: Path) -> Manifest:
    """Read and syntax-check a manifest file; sent as YAML for .yaml/.yml, JSON otherwise."""
    is_yaml = path.suffix.lower() in YAML_SUFFIXES
    kind = "YAML" if is_yaml else "JSON"
    try:
        content = path.read_bytes()
        data = yaml.safe_load(content) if is_yaml else json.loads(content)
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except (yaml.YAMLError, ValueError) as exc:
        fix = f"fix the {kind} syntax (files not named .yaml/.yml are sent as JSON)"
        raise CliError(f"{path} is not valid {kind}: {exc}", [Problem(str(path), fix)]) from None
    if not isinstance(data, dict):
        raise CliError(
            f"{path} does not hold a manifest", [Problem("(file)", "write a mapping of fields")]
        )
    system_id = data.get("id")
    content_type = "application/yaml" if is_yaml else "application/json"
    return Manifest(content, content_type, str(system_id) if system_id else None)


@app.command("register")
def register(
    ctx: typer.Context, file: ManifestFile, key: KeyOpt = None, as_json: JsonOpt = False
) -> None:
    """Register an AI system from its manifest file."""
    manifest = read_manifest(file)
    result = connect(ctx).send_document(
        "POST", "/systems", manifest.content, manifest.content_type, key
    )
    views.command_answer(result, as_json)


@app.command("amend")
def amend(
    ctx: typer.Context, file: ManifestFile, key: KeyOpt = None, as_json: JsonOpt = False
) -> None:
    """Replace the manifest of a system still in pilot (the id comes from the file)."""
    manifest = read_manifest(file)
    if manifest.system_id is None:
        raise CliError(f"{file} has no id", [Problem("id", "set the id of the system to amend")])
    path = f"/systems/{segment(manifest.system_id)}/manifest"
    result = connect(ctx).send_document("PUT", path, manifest.content, manifest.content_type, key)
    views.command_answer(result, as_json)


@app.command("list")
def list_systems(
    ctx: typer.Context,
    state: StateOpt = None,
    tier: TierOpt = None,
    owner: Annotated[str | None, typer.Option(help="Business or technical owner email.")] = None,
    search: Annotated[str | None, typer.Option(help="Text in id, name or description.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Recertification overdue.")] = False,
    due_within: Annotated[
        str | None, typer.Option("--due-within", help="Recertification due within, e.g. 30d.")
    ] = None,
    limit: LimitOpt = 50,
    offset: OffsetOpt = 0,
    as_json: JsonOpt = False,
    output: OutputOpt = Output.table,
) -> None:
    """List systems, filtered and paged."""
    params: dict[str, Any] = {
        "state": state.value if state else None,
        "tier": tier.value if tier else None,
        "owner": owner,
        "q": search,
    }
    if overdue:
        params["overdue"] = "true"
    if due_within:
        params["due_within"] = due_within
    page = connect(ctx).get("/systems", {**params, "limit": limit, "offset": offset})
    if as_json or output is Output.json:
        render.echo_json(page)
    else:
        render.systems_page(page, output)


@app.command("show")
def show(
    ctx: typer.Context,
    system_id: str,
    at: Annotated[
        str | None,
        typer.Option("--at", help="ISO 8601 time: what was approved then, from the audit ledger."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a system: state, governance, gaps and the pending request (or, --at, the past)."""
    view = connect(ctx).get(f"/systems/{segment(system_id)}", {"at": at})
    if at is not None:
        render.echo_json(view) if as_json else views.system_at(view)
        return
    if as_json:
        render.echo_json(view)
    else:
        views.system_detail(view)


BomFile = Annotated[
    Path,
    typer.Argument(
        exists=True, dir_okay=False, readable=True, help="CycloneDX JSON or SPDX 3 JSON-LD file."
    ),
]
OutFile = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
]


@app.command("bom")
def bom(ctx: typer.Context, system_id: str, out: OutFile = None) -> None:
    """Export a system as a CycloneDX 1.6 ML-BOM (JSON)."""
    document = connect(ctx).get(f"/systems/{segment(system_id)}/bom")
    if out is None:
        render.echo_json(document)
        return
    out.write_text(json.dumps(document, indent=2) + "\n")
    render.say(f"wrote the ML-BOM of {system_id} to {out}")


@app.command("import-bom")
def import_bom(
    ctx: typer.Context, file: BomFile, out: OutFile = None, as_json: JsonOpt = False
) -> None:
    """Draft a manifest from an AI-BOM and list what is missing; registers nothing."""
    try:
        data = json.loads(file.read_bytes())
    except (OSError, ValueError) as exc:
        raise CliError(
            f"{file} is not readable JSON: {exc}", [Problem(str(file), "give a JSON BOM")]
        ) from None
    draft = connect(ctx).post("/manifests/from-bom", data)
    if as_json:
        render.echo_json(draft)
        return
    if out is not None:
        out.write_text(draft["manifest_yaml"])
        render.say(f"wrote the manifest draft to {out}")
    else:
        typer.echo(draft["manifest_yaml"], nl=False)
    for missing in draft.get("missing", []):
        typer.echo(f"missing {missing['field']}: {missing['message']}", err=True)
