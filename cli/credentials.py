"""`threshold credentials list|dormant|add|rotate|revoke`: non-human identities under lifecycle control.

A secret value is refused here before it leaves the machine (and again by the API): give a
vault reference. A change to a production system's credentials is a scope change (a new or
widened credential opens revalidation); on a pilot it amends the manifest.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from cli import render
from cli.client import CliError, Problem, connect, segment
from cli.events import read_mapping
from cli.options import Environment, JsonOpt, KeyOpt, Output, OutputOpt, SystemOpt
from domain.manifest import CredentialKind
from domain.secrets import secret_problems

app = typer.Typer(help="Credentials (non-human identities): inventory, add, rotate, revoke.")

FileOpt = Annotated[
    Path | None,
    typer.Option(
        "--file",
        exists=True,
        dir_okay=False,
        help="YAML/JSON file with the whole credential (flags override its fields).",
        show_default=False,
    ),
]
ScopeOpt = Annotated[
    list[str] | None, typer.Option("--scope", help="A scope (repeat).", show_default=False)
]
WhenOpt = Annotated[str | None, typer.Option(help="ISO date or time.", show_default=False)]
TextOpt = Annotated[str | None, typer.Option(show_default=False)]


def refuse_secrets(fields: dict[str, Any]) -> None:
    """Exit 2 naming each field whose value looks like a secret (the value is never shown)."""
    problems = [Problem(p.field, p.message) for p in secret_problems(fields)]
    if problems:
        raise CliError("refused: a secret value was given where a reference belongs", problems)


def _credential(
    base: dict[str, Any],
    *,
    credential_id: str | None,
    kind: CredentialKind | None,
    environment: Environment | None,
    owner: str | None,
    scope: list[str] | None,
    expires: str | None,
    rotation_days: int | None,
    vault_ref: str | None,
) -> dict[str, Any]:
    given = {
        "id": credential_id,
        "kind": kind.value if kind else None,
        "environment": environment.value if environment else None,
        "owner": owner,
        "scopes": scope or None,
        "expires_at": expires,
        "rotation_days": rotation_days,
        "vault_ref": vault_ref,
    }
    credential = {**base, **{k: v for k, v in given.items() if v is not None}}
    refuse_secrets(credential)
    return credential


@app.command("list")
def list_credentials(
    ctx: typer.Context,
    system: SystemOpt = None,
    environment: Annotated[Environment | None, typer.Option(show_default=False)] = None,
    as_json: JsonOpt = False,
    output: OutputOpt = Output.table,
) -> None:
    """Every credential with its owner, expiry, reference, sharing and gaps (OWASP NHI ids)."""
    params = {"system": system, "environment": environment.value if environment else None}
    rows = connect(ctx).get("/credentials", params)
    if as_json or output is Output.json:
        render.echo_json(rows)
        return
    table = [
        (
            c["system_id"],
            c["id"],
            c["kind"],
            c["environment"],
            c.get("owner") or "-",
            render.joined(c.get("scopes", [])),
            render.when(c.get("expires_at")) if c.get("expires_at") else "-",
            c["vault_ref"],
            render.joined(c.get("shared_with", [])),
            render.joined(f"{g['nhi']} {g['code']}" for g in c.get("gaps", [])),
        )
        for c in rows
    ]
    columns = ("system", "credential", "kind", "env", "owner", "scopes", "expires", "vault ref")
    render.show(render.table((*columns, "shared with", "gaps"), table), output)


@app.command("dormant")
def dormant(
    ctx: typer.Context,
    days: Annotated[
        int | None,
        typer.Option(min=1, help="Days idle (default: policy credentials.dormancy_days)."),
    ] = None,
    system: SystemOpt = None,
    environment: Annotated[Environment | None, typer.Option(show_default=False)] = None,
    as_json: JsonOpt = False,
    output: OutputOpt = Output.table,
) -> None:
    """Credentials and systems with no recorded action for N days (OWASP NHI1)."""
    params = {
        "days": days,
        "system": system,
        "environment": environment.value if environment else None,
    }
    result = connect(ctx).get("/dormancy", params)
    if as_json or output is Output.json:
        render.echo_json(result)
        return
    rows = [
        (
            d["system_id"],
            d.get("credential_id") or "(system)",
            d["environment"],
            d["system_state"],
            render.when(d["last_action_at"]) if d.get("last_action_at") else "never",
            str(d["idle_days"]),
            "finding" if d.get("finding") else "-",
            d.get("review") or "-",
        )
        for d in [*result.get("credentials", []), *result.get("systems", [])]
    ]
    columns = (
        "system",
        "credential",
        "env",
        "state",
        "last action",
        "days idle",
        "finding",
        "review",
    )
    render.show(render.table(columns, rows), output)
    if output is Output.table:
        render.say(f"dormant: no recorded action for {result.get('days')} days")


@app.command("add")
def add(
    ctx: typer.Context,
    system_id: str,
    file: FileOpt = None,
    credential_id: Annotated[str | None, typer.Option("--credential", show_default=False)] = None,
    kind: Annotated[CredentialKind | None, typer.Option(show_default=False)] = None,
    environment: Annotated[Environment | None, typer.Option(show_default=False)] = None,
    owner: TextOpt = None,
    scope: ScopeOpt = None,
    expires: WhenOpt = None,
    rotation_days: Annotated[int | None, typer.Option(min=1, show_default=False)] = None,
    vault_ref: TextOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Bind a credential to a system (a vault reference, never the secret)."""
    base = read_mapping(file, "a credential", "id") if file else {}
    credential = _credential(
        base,
        credential_id=credential_id,
        kind=kind,
        environment=environment,
        owner=owner,
        scope=scope,
        expires=expires,
        rotation_days=rotation_days,
        vault_ref=vault_ref,
    )
    credential.setdefault("created_at", datetime.now(UTC).isoformat())
    path = f"/systems/{segment(system_id)}/credentials"
    _report(connect(ctx).post(path, credential, key=key), as_json)


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    system_id: str,
    credential_id: str,
    expires: WhenOpt = None,
    vault_ref: TextOpt = None,
    owner: TextOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a rotation: new expiry and/or reference; last_rotated_at becomes now."""
    api = connect(ctx)
    found = api.get("/credentials", {"system": system_id, "credential": credential_id})
    if not found:
        raise CliError(
            f"{system_id} has no credential {credential_id}",
            [Problem("credential", "see `threshold credentials list --system ID`")],
        )
    current = {
        k: v
        for k, v in found[0].items()
        if k not in ("system_id", "system_state", "shared_with", "revocation", "gaps")
        and v is not None
    }
    credential = _credential(
        current,
        credential_id=None,
        kind=None,
        environment=None,
        owner=owner,
        scope=None,
        expires=expires,
        rotation_days=None,
        vault_ref=vault_ref,
    )
    credential["last_rotated_at"] = datetime.now(UTC).isoformat()
    path = f"/systems/{segment(system_id)}/credentials/{segment(credential_id)}"
    _report(api.send_json("PUT", path, credential, key=key), as_json)


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    system_id: str,
    credential_id: str,
    reason: Annotated[str, typer.Option(help="Why (recorded in the audit ledger).")] = "",
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Unbind a credential and hand it to the revoker."""
    refuse_secrets({"credential_id": credential_id})  # never sent in a URL (proxies log them)
    path = f"/systems/{segment(system_id)}/credentials/{segment(credential_id)}/revoke"
    _report(connect(ctx).post(path, {"reason": reason}, key=key), as_json)


def _report(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        render.echo_json(result)
        return
    render.say(str(result.get("message", "")))
    system = result.get("system", {})
    render.say(f"{system.get('system_id')}: {system.get('state')}", "bold")
