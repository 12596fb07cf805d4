"""Output for people (rich tables and panels) and for scripts (raw JSON)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.client import DENIED, CliError
from cli.options import Output

console = Console(highlight=False)
PIPED_WIDTH = 1000  # piped output is never wrapped to a terminal that is not there


class DataTable(Table):
    """A rich table that keeps its headings and plain cells, for TSV output."""

    def __init__(self, columns: Sequence[str], title: str = "") -> None:
        super().__init__(title=title or None, title_justify="left", header_style="bold")
        self.headings = list(columns)
        self.cells: list[list[str]] = []


def echo_json(data: Any) -> None:
    """Print data as indented JSON for scripts."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def error(exc: CliError) -> None:
    """Print an error and each problem ("  - field: message") on stderr, plain text."""
    label = "refused" if exc.exit_code == DENIED else "error"
    typer.echo(f"{label}: {exc.message}", err=True)
    for problem in exc.problems:
        typer.echo(f"  - {problem.field}: {problem.message}", err=True)


def say(text: str, style: str = "") -> None:
    """Print a line for people (no markup interpretation, no wrapping of ids)."""
    console.print(Text(text, style=style), soft_wrap=True)


def when(value: Any) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM UTC' (or '-' when absent)."""
    if not value:
        return "-"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def joined(values: Iterable[Any], empty: str = "-") -> str:
    """Comma-separated values, or `empty`."""
    text = ", ".join(str(v) for v in values if v)
    return text or empty


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "") -> DataTable:
    """A plain table with the given headings; cells are shown as text, never markup."""
    grid = DataTable(columns, title)
    for column in columns:
        grid.add_column(column, overflow="fold")
    for row in rows:
        cells = ["-" if cell in (None, "") else str(cell) for cell in row]
        grid.cells.append(cells)
        grid.add_row(*(Text(cell) for cell in cells))
    return grid


def _tsv_cell(cell: str) -> str:
    return cell.replace("\t", " ").replace("\n", " ")


def show(grid: DataTable, output: Output = Output.table) -> None:
    """Print a table: folded to a terminal, never wrapped when piped or `wide`, or as TSV."""
    if output is Output.tsv:
        typer.echo("\t".join(grid.headings))
        for row in grid.cells:
            typer.echo("\t".join(_tsv_cell(c) for c in row))
        return
    if output is Output.table and console.is_terminal:
        console.print(grid)
        return
    for column in grid.columns:
        column.no_wrap, column.overflow = True, "ignore"
    Console(highlight=False, width=PIPED_WIDTH, force_terminal=console.is_terminal).print(grid)


def page_footer(page: dict[str, Any], output: Output = Output.table) -> None:
    """'showing a-b of total', with the next offset when there is more (stderr for TSV)."""
    items, total = page.get("items", []), int(page.get("total", 0))
    offset = int(page.get("offset", 0))
    if output is Output.tsv:
        end = offset + len(items)
        typer.echo(f"showing {offset + 1 if items else 0}-{end} of {total}", err=True)
        return
    if not items:
        say(f"nothing found ({total} in total)", "dim")
        return
    end = offset + len(items)
    more = f"; next page: --offset {end}" if end < total else ""
    say(f"showing {offset + 1}-{end} of {total}{more}", "dim")


def pending_roles(request: dict[str, Any]) -> list[str]:
    """Roles a request still needs an approval for."""
    filled = {d.get("role") for d in request.get("decisions", []) if d.get("approve")}
    return [r for r in request.get("required_roles", []) if r not in filled]


def systems_page(page: dict[str, Any], output: Output = Output.table) -> None:
    """The systems list as a table."""
    rows = [
        (
            s.get("id"),
            s.get("name"),
            s.get("state"),
            s.get("risk_tier"),
            joined([s.get("business_owner"), s.get("technical_owner")]),
            s.get("pending_request_id"),
            when(s.get("recertification_due_at")) if s.get("recertification_due_at") else "-",
            when(s.get("exception_expires_at")) if s.get("exception_expires_at") else "-",
        )
        for s in page.get("items", [])
    ]
    columns = (
        "id",
        "name",
        "state",
        "tier",
        "owners",
        "pending request",
        "recert due",
        "waiver ends",
    )
    show(table(columns, rows), output)
    page_footer(page, output)


def requests_page(page: dict[str, Any], output: Output = Output.table) -> None:
    """Approval requests as a table."""
    rows = [
        (
            r.get("id"),
            r.get("system_id"),
            r.get("kind"),
            r.get("status"),
            r.get("requester"),
            joined(pending_roles(r)) if r.get("status") == "pending" else "",
            when(r.get("expires_at")) if r.get("status") == "pending" else "",
            r.get("ticket"),
        )
        for r in page.get("items", [])
    ]
    columns = ("id", "system", "kind", "status", "requester", "awaiting", "expires", "ticket")
    show(table(columns, rows), output)
    page_footer(page, output)


def events_table(events: list[dict[str, Any]], output: Output = Output.table) -> None:
    """Audit events as a table, oldest first."""
    rows = [
        (
            when(e.get("at")),
            e.get("chain_id"),
            e.get("seq"),
            e.get("actor"),
            e.get("action"),
            e.get("request_id"),
            _short(e.get("detail")),
        )
        for e in events
    ]
    columns = ("at", "system", "seq", "actor", "action", "request", "detail")
    show(table(columns, rows), output)
    if not events and output is not Output.tsv:
        say("no audit events", "dim")


def tokens_table(tokens: list[dict[str, Any]]) -> None:
    """Tokens' public records as a table."""
    rows = [
        (
            t.get("id"),
            t.get("principal"),
            t.get("role"),
            t.get("label"),
            when(t.get("created_at")),
            when(t.get("revoked_at")) if t.get("revoked_at") else "active",
        )
        for t in tokens
    ]
    show(table(("id", "principal", "role", "label", "created", "revoked"), rows))


def _short(detail: Any, limit: int = 80) -> str:
    text = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)
    if text in ("{}", "null", ""):
        return ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
