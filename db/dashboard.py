"""Dashboard reads over the projection: one page of system views, estate counts, open tickets.

Every read is paged or aggregated in SQL, so a page costs the same with 10 or 10,000 systems.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Table, func, select
from sqlmodel import Session

from db.queries import system_filters
from db.tables import (
    ACTION_FINDINGS,
    APPROVAL_REQUESTS,
    AUDIT_ENTRIES,
    SYSTEMS,
    TICKETS,
    AuditEntryRow,
)
from domain.lifecycle import PRODUCTION_STATES


@dataclass(frozen=True)
class EstateQuery:
    """Filters and the page of the estate view."""

    state: str | None = None
    tier: str | None = None
    owner: str | None = None
    search: str | None = None
    overdue: bool = False
    limit: int = 50
    offset: int = 0

    def states(self) -> list[str] | None:
        """The states the filters allow (None: any)."""
        return [self.state] if self.state else None


def page_views(session: Session, query: EstateQuery) -> tuple[list[str], int]:
    """The stored view JSON of one page of systems (by id), and how many match.

    The page's ids are chosen first (narrow rows, an index or the primary key), and only those
    50 views are read: sorting whole rows would drag every matching view through the sort.
    """
    conditions = system_filters(
        query.states(), query.tier, query.owner, query.search, overdue=query.overdue
    )
    total = session.execute(
        select(func.count()).select_from(SYSTEMS).where(*conditions)
    ).scalar_one()
    ids = list(
        session.execute(
            select(SYSTEMS.c.id)
            .where(*conditions)
            .order_by(SYSTEMS.c.id)
            .offset(query.offset)
            .limit(query.limit)
        ).scalars()
    )
    if not ids:
        return [], int(total)
    texts = session.execute(
        select(SYSTEMS.c.view_json).where(SYSTEMS.c.id.in_(ids)).order_by(SYSTEMS.c.id)
    ).scalars()
    return list(texts), int(total)


def state_counts(session: Session) -> dict[str, int]:
    """How many systems are in each lifecycle state."""
    rows = session.execute(select(SYSTEMS.c.state, func.count()).group_by(SYSTEMS.c.state)).all()
    return {str(state): int(count) for state, count in rows}


def in_production(counts: dict[str, int]) -> int:
    """Systems running in production (any production state)."""
    return sum(n for state, n in counts.items() if state in PRODUCTION_STATES)


def overdue_count(session: Session) -> int:
    """Systems whose recertification is overdue (contained ones included)."""
    return _count(session, SYSTEMS, SYSTEMS.c.overdue_since.is_not(None))


def expiring_exception_count(session: Session, *, now: datetime, within: timedelta) -> int:
    """Systems with an active exception that ends within `within` of `now`."""
    column = SYSTEMS.c.exception_expires_at
    return _count(session, SYSTEMS, column > now, column <= now + within)


def finding_count(session: Session) -> int:
    """Distinct action-ledger finding kinds per system (the first of each signals the system)."""
    pairs = select(ACTION_FINDINGS.c.system_id, ACTION_FINDINGS.c.code).distinct().subquery()
    return int(session.execute(select(func.count()).select_from(pairs)).scalar_one())


def _count(session: Session, table: Table, *conditions: ColumnElement[bool]) -> int:
    return int(
        session.execute(select(func.count()).select_from(table).where(*conditions)).scalar_one()
    )


def pending_requests(session: Session) -> int:
    """Approval requests waiting for decisions."""
    return int(
        session.execute(
            select(func.count())
            .select_from(APPROVAL_REQUESTS)
            .where(APPROVAL_REQUESTS.c.status == "pending")
        ).scalar_one()
    )


def open_tickets(
    session: Session, *, system_ids: Sequence[str] | None = None
) -> dict[str, list[str]]:
    """Open ticket keys per system (of these systems, or of all when None)."""
    query = select(TICKETS.c.system_id, TICKETS.c.key).where(TICKETS.c.status == "open")
    if system_ids is not None:
        if not system_ids:
            return {}
        query = query.where(TICKETS.c.system_id.in_(list(system_ids)))
    found: dict[str, list[str]] = {}
    for system_id, key in session.execute(query.order_by(TICKETS.c.key)).all():
        found.setdefault(system_id, []).append(key)
    return found


def open_ticket_count(session: Session) -> int:
    """How many tickets are open."""
    return int(
        session.execute(
            select(func.count()).select_from(TICKETS).where(TICKETS.c.status == "open")
        ).scalar_one()
    )


def recent_events(
    session: Session, *, system_id: str, limit: int, actions: Sequence[str] | None = None
) -> list[AuditEntryRow]:
    """A system's latest audit entries, newest first (only `actions`, when given)."""
    columns = AUDIT_ENTRIES.c
    query = select(AuditEntryRow).where(columns.chain_id == system_id)
    if actions is not None:
        query = query.where(columns.action.in_(list(actions)))
    query = query.order_by(columns.seq.desc()).limit(limit)
    return list(session.execute(query).scalars())
