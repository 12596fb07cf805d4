"""`threshold webhooks add|list|remove|deliveries` (admin)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from cli import render
from cli.client import connect, segment
from cli.options import JsonOpt

app = typer.Typer(help="Send governance events to URLs, signed (admin).", no_args_is_help=True)
EVENTS = ("decision", "state_change", "finding", "containment")


class Format(StrEnum):
    """A subscription's body format."""

    standard = "standard"
    cloudevents = "cloudevents"


@app.command("add")
def add(
    ctx: typer.Context,
    url: str,
    events: Annotated[
        str,
        typer.Option("--events", help=f"Comma-separated, of: {', '.join(EVENTS)} (default: all)."),
    ] = "",
    form: Annotated[
        Format, typer.Option("--format", help="Standard Webhooks JSON or CloudEvents.")
    ] = Format.standard,
    as_json: JsonOpt = False,
) -> None:
    """Subscribe URL; its signing secret is shown this once."""
    wanted = [e.strip() for e in events.split(",") if e.strip()]
    created = connect(ctx).post("/webhooks", {"url": url, "events": wanted, "format": form.value})
    if as_json:
        render.echo_json(created)
        return
    render.say(
        f"webhook {created.get('id')} sends {', '.join(created.get('events', []))} "
        f"to {created.get('url')} ({created.get('format')}); signing secret:"
    )
    typer.echo(str(created.get("secret")))
    render.say("this is the only time the secret is shown; store it with the receiver", "yellow")


@app.command("list")
def list_hooks(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List subscriptions (never their secrets)."""
    hooks: list[dict[str, Any]] = connect(ctx).get("/webhooks")
    if as_json:
        render.echo_json(hooks)
        return
    rows = [
        (h.get("id"), h.get("url"), ", ".join(h.get("events", [])), h.get("format")) for h in hooks
    ]
    render.show(render.table(("id", "url", "events", "format"), rows))


@app.command("remove")
def remove(ctx: typer.Context, webhook_id: str) -> None:
    """Stop sending to a subscription."""
    connect(ctx).delete(f"/webhooks/{segment(webhook_id)}")
    render.say(f"webhook {webhook_id} removed")


@app.command("deliveries")
def list_deliveries(ctx: typer.Context, webhook_id: str, as_json: JsonOpt = False) -> None:
    """A subscription's deliveries: status, attempts, last status code (newest first)."""
    rows: list[dict[str, Any]] = connect(ctx).get(f"/webhooks/{segment(webhook_id)}/deliveries")
    if as_json:
        render.echo_json(rows)
        return
    table = [
        (
            d.get("id"),
            d.get("event_type"),
            d.get("status"),
            d.get("attempts"),
            d.get("last_status_code"),
            render.when(d.get("created_at")),
        )
        for d in rows
    ]
    header = ("id", "event", "status", "attempts", "last code", "created")
    render.show(render.table(header, table))
