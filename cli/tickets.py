"""`threshold tickets [KEY]`: change-request tickets (local tracker, or the Jira issues opened)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Group
from rich.panel import Panel
from rich.text import Text

from cli import render
from cli.client import connect, segment
from cli.options import JsonOpt, LimitOpt, OffsetOpt, Output, OutputOpt, SystemOpt, TicketStatusOpt

KeyArg = Annotated[
    str | None,
    typer.Argument(
        help="A ticket key (THR-1, GOV-12): show it with its comments.", metavar="[KEY]"
    ),
]


def tickets(
    ctx: typer.Context,
    key: KeyArg = None,
    system: SystemOpt = None,
    status: TicketStatusOpt = None,
    limit: LimitOpt = 50,
    offset: OffsetOpt = 0,
    as_json: JsonOpt = False,
    output: OutputOpt = Output.table,
) -> None:
    """List change-request tickets, newest first, or show one with its comments."""
    api = connect(ctx)
    if key:
        ticket = api.get(f"/tickets/{segment(key)}")
        if as_json or output is Output.json:
            render.echo_json(ticket)
        else:
            ticket_detail(ticket)
        return
    wanted = status.value if status else None
    params = {"system": system, "status": wanted, "limit": limit, "offset": offset}
    page = api.get("/tickets", params)
    if as_json or output is Output.json:
        render.echo_json(page)
    else:
        tickets_page(page, output)


def tickets_page(page: dict[str, Any], output: Output = Output.table) -> None:
    """Tickets as a table."""
    rows = [
        (
            t.get("key"),
            t.get("status"),
            t.get("system_id"),
            t.get("request_id"),
            t.get("kind"),
            t.get("summary"),
            t.get("url") or t.get("tracker"),
            render.when(t.get("updated_at")),
        )
        for t in page.get("items", [])
    ]
    columns = ("key", "status", "system", "request", "kind", "summary", "where", "updated")
    render.show(render.table(columns, rows), output)
    render.page_footer(page, output)


def ticket_detail(ticket: dict[str, Any]) -> None:
    """One ticket: its fields, description and comments."""
    parts: list[Any] = [
        Text(
            f"{ticket.get('status')} · {ticket.get('kind')} · request {ticket.get('request_id')} "
            f"· {ticket.get('url') or ticket.get('tracker')}"
        ),
        Text(""),
        Text(str(ticket.get("description", ""))),
    ]
    notes = ticket.get("comments", [])
    if notes:
        rows = [(render.when(c.get("at")), c.get("event"), c.get("body")) for c in notes]
        parts.append(render.table(("at", "event", "comment"), rows, title="Comments"))
    title = Text(f"{ticket.get('key')} — {ticket.get('summary')}")
    render.console.print(Panel(Group(*parts), title=title, title_align="left"))


def install(root: typer.Typer) -> None:
    """Add `tickets`."""
    root.command("tickets")(tickets)
