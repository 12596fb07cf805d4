"""`threshold tokens issue|list|revoke` (admin)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import render
from cli.client import connect, segment
from cli.options import JsonOpt, KeyOpt, TokenRole

app = typer.Typer(help="Issue, list and revoke API tokens (admin).", no_args_is_help=True)


@app.command("issue")
def issue(
    ctx: typer.Context,
    principal: Annotated[str, typer.Option("--principal", help="Email the token acts as.")],
    role: Annotated[TokenRole, typer.Option("--role", help="What the token may do.")],
    label: Annotated[str, typer.Option("--label", help="A note to tell tokens apart.")] = "",
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            help="Lifetime, e.g. 30d, 2w, 12h (default 90d for non-admin roles; admin: never).",
            show_default=False,
        ),
    ] = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue a token; its value is shown this once."""
    body = {"principal": principal, "role": role.value, "label": label, "expires": expires}
    issued = connect(ctx).post("/tokens", body, key=key)
    if as_json:
        render.echo_json(issued)
        return
    if issued.get("token") is None:  # a repeat of an earlier issue with the same key
        render.say(f"token {issued.get('id')}: {issued.get('message')}", "yellow")
        return
    expiry = render.when(issued.get("expires_at")) if issued.get("expires_at") else "never"
    render.say(
        f"token {issued.get('id')} for {issued.get('principal')} ({issued.get('role')}), "
        f"expires {expiry}:"
    )
    typer.echo(str(issued.get("token")))
    render.say("this is the only time the token is shown; store it now (e.g. in a vault)", "yellow")


@app.command("list")
def list_tokens(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List tokens (never their values)."""
    tokens = connect(ctx).get("/tokens")
    if as_json:
        render.echo_json(tokens)
    else:
        render.tokens_table(tokens)


@app.command("revoke")
def revoke(ctx: typer.Context, token_id: str) -> None:
    """Revoke a token at once."""
    connect(ctx).delete(f"/tokens/{segment(token_id)}")
    render.say(f"token {token_id} revoked")
