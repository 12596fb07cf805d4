"""Aggregate reads for the `/metrics` gauges: each one a grouped count over the projection."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Session

from db.dashboard import finding_count, open_ticket_count, overdue_count, state_counts
from db.tables import APPROVAL_REQUESTS, CHAIN_HEADS, as_utc

AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("0-1h", timedelta(hours=1)),
    ("1h-1d", timedelta(days=1)),
    ("1d-7d", timedelta(days=7)),
    ("7d+", None),
)
"""The age buckets of pending approval requests (label, upper bound; None = no bound)."""


@dataclass(frozen=True)
class EstateFigures:
    """One reading of the projection for the gauges."""

    systems: dict[str, int] = field(default_factory=dict)
    requests: dict[tuple[str, ...], int] = field(default_factory=dict)
    pending_by_age: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    findings: int = 0
    open_tickets: int = 0
    ledger_entries: dict[str, int] = field(default_factory=dict)


def read_figures(session: Session, *, now: datetime) -> EstateFigures:
    """Every gauge's value, from grouped counts (cost grows with pending requests, not history)."""
    return EstateFigures(
        systems=state_counts(session),
        requests=_request_counts(session),
        pending_by_age=_pending_by_age(session, now=now),
        overdue=overdue_count(session),
        findings=finding_count(session),
        open_tickets=open_ticket_count(session),
        ledger_entries=_ledger_entries(session),
    )


def _request_counts(session: Session) -> dict[tuple[str, ...], int]:
    """Approval requests by (kind, status): the decisions' outcomes so far."""
    columns = APPROVAL_REQUESTS.c
    rows = session.execute(
        select(columns.kind, columns.status, func.count()).group_by(columns.kind, columns.status)
    ).all()
    return {(str(kind), str(status)): int(count) for kind, status, count in rows}


def _opened_at(dialect: str) -> ColumnElement[str]:
    """The `opened_at` field of the stored request JSON, as text."""
    column = APPROVAL_REQUESTS.c.request_json
    if dialect == "postgresql":
        field: ColumnElement[str] = cast(column, JSONB)["opened_at"].astext
        return field
    extracted: ColumnElement[str] = func.json_extract(column, "$.opened_at")
    return extracted


def _pending_by_age(session: Session, *, now: datetime) -> dict[str, int]:
    """Pending requests per age bucket (age = now - opened_at)."""
    counts = dict.fromkeys((label for label, _ in AGE_BUCKETS), 0)
    dialect = session.get_bind().dialect.name
    query = select(_opened_at(dialect)).where(APPROVAL_REQUESTS.c.status == "pending")
    for (opened,) in session.execute(query).all():
        age = now - as_utc(datetime.fromisoformat(str(opened)))
        label = next(name for name, bound in AGE_BUCKETS if bound is None or age < bound)
        counts[label] += 1
    return counts


def _ledger_entries(session: Session) -> dict[str, int]:
    """Entries per ledger: the sum of its chain heads' sequence numbers (no table scan)."""
    rows = session.execute(
        select(CHAIN_HEADS.c.ledger, func.coalesce(func.sum(CHAIN_HEADS.c.seq), 0)).group_by(
            CHAIN_HEADS.c.ledger
        )
    ).all()
    return {str(ledger): int(total) for ledger, total in rows}
