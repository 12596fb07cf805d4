"""`threshold event scope-change|model-change|mcp-tools|...` and `threshold deploy-check`.

Each command sends one CloudEvent (`POST /api/v1/events`); `--source` and `--id` identify it,
so a deploy step that is retried with the same `--id` is applied once.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from cli import render, views
from cli.client import DENIED, OK, Api, CliError, Problem, connect, segment
from cli.options import Environment, JsonOpt
from domain.events import (
    CREDENTIAL_CHANGED,
    MANIFEST_DECLARED,
    MCP_TOOLS_LISTED,
    MODEL_CHANGED,
    SCOPE_CHANGED,
    CredentialAction,
)
from domain.lifecycle import LifecycleState
from domain.manifest import Autonomy
from domain.manifest import DataClassification as Classification
from domain.secrets import scrub, secret_paths

app = typer.Typer(
    help="Tell Threshold what a deploy changes (CloudEvents); exit 0 accepted and in force, "
    "1 refused or awaiting approval, 2 bad input.",
    no_args_is_help=True,
)

EVENTS_TYPE = "application/cloudevents+json"
SourceOpt = Annotated[
    str,
    typer.Option(
        "--source",
        envvar="THRESHOLD_EVENT_SOURCE",
        help="Who sends the event, e.g. your pipeline's URL (CloudEvents source).",
    ),
]
EventIdOpt = Annotated[
    str | None,
    typer.Option(
        "--id",
        help="Event id, unique per source (e.g. the deploy id); a re-sent id is applied once. "
        "Default: a fresh uuid4.",
        show_default=False,
    ),
]
Items = Annotated[list[str] | None, typer.Option(show_default=False)]
DEFAULT_SOURCE = "threshold-cli"


def cloudevent(
    kind: str, system_id: str, data: dict[str, Any], source: str, event_id: str | None
) -> dict[str, Any]:
    """A structured-mode CloudEvent 1.0 for one system."""
    return {
        "specversion": "1.0",
        "type": kind,
        "source": source,
        "id": event_id or str(uuid.uuid4()),
        "subject": system_id,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "datacontenttype": "application/json",
        "data": data,
    }


def refuse_local_secrets(data: dict[str, Any], prefix: str) -> None:
    """Exit 2 naming every field holding a secret, before anything leaves the machine."""
    found = secret_paths(data, prefix)
    if found:
        problems = [Problem(p.field, p.message) for p in found]
        raise CliError("refused: a secret value was given; nothing was sent", problems)


def send(api: Api, event: dict[str, Any]) -> Any:
    """POST one event (none holding a secret leaves the machine); refusals exit like the API."""
    refuse_local_secrets(event, "")
    body = json.dumps(event).encode()
    return api.send_document("POST", "/events", body, EVENTS_TYPE, key=event["id"])


def _lists(**items: list[str] | None) -> dict[str, list[str]]:
    return {name: values for name, values in items.items() if values}


@app.command("scope-change")
def scope_change(
    ctx: typer.Context,
    system_id: Annotated[str, typer.Argument(help="The system id (the event's subject).")],
    add_read: Items = None,
    remove_read: Items = None,
    add_write: Items = None,
    remove_write: Items = None,
    add_tool: Items = None,
    remove_tool: Items = None,
    add_decision: Items = None,
    remove_decision: Items = None,
    add_downstream: Items = None,
    remove_downstream: Items = None,
    autonomy: Annotated[Autonomy | None, typer.Option(show_default=False)] = None,
    data_classification: Annotated[Classification | None, typer.Option(show_default=False)] = None,
    customer_facing: Annotated[
        bool | None,
        typer.Option("--customer-facing/--not-customer-facing", show_default=False),
    ] = None,
    synthetic_only: Annotated[
        bool | None, typer.Option("--synthetic-only/--real-data", show_default=False)
    ] = None,
    source: SourceOpt = DEFAULT_SOURCE,
    event_id: EventIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send a scope change: capabilities added or removed (each option repeatable), new values."""
    data: dict[str, Any] = _lists(
        add_read=add_read,
        remove_read=remove_read,
        add_write=add_write,
        remove_write=remove_write,
        add_tools=add_tool,
        remove_tools=remove_tool,
        add_automated_decisions=add_decision,
        remove_automated_decisions=remove_decision,
        add_downstream=add_downstream,
        remove_downstream=remove_downstream,
    )
    values = {
        "autonomy": autonomy.value if autonomy else None,
        "data_classification": data_classification.value if data_classification else None,
        "customer_facing": customer_facing,
        "synthetic_data_only": synthetic_only,
    }
    data |= {name: value for name, value in values.items() if value is not None}
    if not data:
        raise CliError(
            "nothing to send", [Problem("options", "give at least one change, e.g. --add-write")]
        )
    event = cloudevent(SCOPE_CHANGED, system_id, data, source, event_id)
    _report(send(connect(ctx), event), as_json)


@app.command("model-change")
def model_change(
    ctx: typer.Context,
    system_id: Annotated[str, typer.Argument(help="The system id (the event's subject).")],
    provider: Annotated[str, typer.Option(help="Model provider, e.g. anthropic.")],
    name: Annotated[str, typer.Option(help="Model name.")],
    version: Annotated[str, typer.Option(help="Model version.")],
    source: SourceOpt = DEFAULT_SOURCE,
    event_id: EventIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send a model change: the system now runs this provider, model and version."""
    data = {"provider": provider, "name": name, "version": version}
    event = cloudevent(MODEL_CHANGED, system_id, data, source, event_id)
    _report(send(connect(ctx), event), as_json)


@app.command("credential-change")
def credential_change(
    ctx: typer.Context,
    system_id: Annotated[str, typer.Argument(help="The system id (the event's subject).")],
    action: Annotated[CredentialAction, typer.Option(help="added, rotated or removed.")],
    credential: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="YAML/JSON file with the whole credential (added, rotated): id, kind, "
            "environment, owner, scopes, expires_at, vault_ref (never the secret).",
            show_default=False,
        ),
    ] = None,
    credential_id: Annotated[
        str | None, typer.Option(help="The credential to remove.", show_default=False)
    ] = None,
    source: SourceOpt = DEFAULT_SOURCE,
    event_id: EventIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send a credential change: one bound (added), replaced (rotated) or unbound (removed)."""
    data: dict[str, Any] = {"action": action.value}
    if credential is not None:
        data["credential"] = read_mapping(credential, "a credential", "id")
    if credential_id is not None:
        data["credential_id"] = credential_id
    event = cloudevent(CREDENTIAL_CHANGED, system_id, data, source, event_id)
    _report(send(connect(ctx), event), as_json)


@app.command("mcp-tools")
def mcp_tools(
    ctx: typer.Context,
    system_id: Annotated[str, typer.Argument(help="The system id (the event's subject).")],
    server: Annotated[str, typer.Option(help="The MCP server's name in the manifest.")],
    file: Annotated[
        str,
        typer.Option(
            "--file",
            "-f",
            help='The server\'s `tools/list` result as JSON ({"tools": [...]}); - reads stdin.',
        ),
    ],
    url: Annotated[
        str | None, typer.Option(help="Where the server answers.", show_default=False)
    ] = None,
    source: SourceOpt = DEFAULT_SOURCE,
    event_id: EventIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send an MCP `tools/list` snapshot; new or newly destructive tools await revalidation."""
    data: dict[str, Any] = {"server": server, **read_tools_list(file)}
    if url is not None:
        data["url"] = url
    event = cloudevent(MCP_TOOLS_LISTED, system_id, data, source, event_id)
    _report(send(connect(ctx), event), as_json)


def read_tools_list(file: str) -> dict[str, Any]:
    """`tools` (and `nextCursor`) of a `tools/list` result, or of a JSON-RPC reply holding one."""
    where = "stdin" if file == "-" else file
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise CliError(f"cannot read {file}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CliError(
            f"{where} is not valid JSON: {scrub(str(exc))}", [Problem(where, "fix the syntax")]
        ) from None
    if isinstance(data, dict) and isinstance(data.get("result"), dict):
        data = data["result"]  # a whole JSON-RPC response
    if not isinstance(data, dict) or not isinstance(data.get("tools"), list):
        raise CliError(
            f"{where} does not hold a tools/list result",
            [Problem("tools", 'write the result as {"tools": [...]}')],
        )
    return {key: data[key] for key in ("tools", "nextCursor") if key in data}


def awaits_approval(result: dict[str, Any]) -> bool:
    """Whether the event opened (or joined) a revalidation that must be approved first."""
    return bool(
        result.get("material")
        and result.get("request_id")
        and result.get("state") == LifecycleState.revalidation_pending
    )


def _report(result: dict[str, Any], as_json: bool) -> None:
    """Print the answer; exit 1 while the change awaits approval (the deploy must wait)."""
    if as_json:
        render.echo_json(result)
    else:
        views.event_result(result)
    if awaits_approval(result):
        raise typer.Exit(DENIED)


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest file as data (YAML or JSON); bad files are input errors (exit 2)."""
    return read_mapping(path, "a manifest", "id")


def read_mapping(path: Path, what: str, key: str) -> dict[str, Any]:
    """A YAML or JSON file holding a mapping with a string `key`; bad files exit 2."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise CliError(
            f"{path} is not valid YAML or JSON: {scrub(str(exc))}",
            [Problem(str(path), "fix the syntax")],
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get(key), str):
        raise CliError(
            f"{path} does not hold {what}",
            [Problem(key, f"write a mapping of fields with its {key}")],
        )
    return dict(json.loads(json.dumps(data, default=str)))


def deploy_check(
    ctx: typer.Context,
    manifest: Annotated[
        Path,
        typer.Option(
            "--manifest",
            "-f",
            exists=True,
            dir_okay=False,
            readable=True,
            help="The manifest in the repository being deployed.",
        ),
    ],
    environment: Annotated[
        Environment, typer.Option("--environment", "-e", help="Where the deploy goes.")
    ] = Environment.production,
    source: SourceOpt = DEFAULT_SOURCE,
    event_id: EventIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Declare the repository's manifest and check it: exit 0 only when its scope is approved,
    1 when it awaits approval (or was refused), 2 on bad input or an unknown system."""
    data = read_manifest(manifest)
    refuse_local_secrets(data, "")
    system_id = data["id"]
    api = connect(ctx)
    event = cloudevent(MANIFEST_DECLARED, system_id, {"manifest": data}, source, event_id)
    declared = send(api, event)
    path = f"/systems/{segment(system_id)}/gate"
    gate = api.get(path, {"environment": environment.value, "scope": "declared"})
    if as_json:
        render.echo_json({"event": declared, "gate": gate})
    else:
        views.event_result(declared)
        views.gate(gate)
    raise typer.Exit(OK if gate.get("allowed") is True else DENIED)


def install(root: typer.Typer) -> None:
    """Add `event` and `deploy-check`."""
    root.add_typer(app, name="event")
    root.command("deploy-check")(deploy_check)
