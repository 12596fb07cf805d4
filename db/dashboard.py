"""Dashboard reads over the projection: one page of system views, estate counts, open tickets.

Every read is paged or aggregated in SQL, so a page costs the same with 10 or 10,000 systems.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session

from db.queries import system_filters
from db.tables import APPROVAL_REQUESTS, AUDIT_ENTRIES, SYSTEMS, TICKETS, AuditEntryRow
from domain.lifecycle import PRODUCTION_STATES, LifecycleState


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
        if self.overdue:
            wanted = [LifecycleState.overdue.value]
            return [s for s in wanted if self.state in (None, s)]
        return [self.state] if self.state else None


def page_views(session: Session, query: EstateQuery) -> tuple[list[str], int]:
    """The stored view JSON of one page of systems (by id), and how many match.

    The page's ids are chosen first (narrow rows, an index or the primary key), and only those
    50 views are read: sorting whole rows would drag every matching view through the sort.
    """
    conditions = system_filters(query.states(), query.tier, query.owner, query.search)
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
