"""Dashboard reads over the projection: one page of system views, estate counts, open tickets.

Every read is paged or aggregated in SQL, so a page costs the same with 10 or 10,000 systems.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, Table, and_, delete, func, or_, select
from sqlmodel import Session

from db.ledger import append_events
from db.queries import system_filters
from db.tables import (
    ACTION_FINDINGS,
    APPROVAL_REQUESTS,
    AUDIT_ENTRIES,
    FINDING_ACKS,
    SYSTEMS,
    TICKETS,
    AuditEntryRow,
)
from domain.audit import AuditAction
from domain.contracts import AuditEvent
from domain.errors import NotFound
from domain.lifecycle import PRODUCTION_STATES, LifecycleState

ENVIRONMENTS = ("production", "pilot")
"""The `env` filter's values: where a system runs, from its lifecycle state."""
PILOT_STATES = frozenset({LifecycleState.pilot, LifecycleState.promotion_pending})


@dataclass(frozen=True)
class EstateQuery:
    """Filters and the page of the estate view."""

    state: str | None = None
    tier: str | None = None
    owner: str | None = None
    search: str | None = None
    overdue: bool = False
    env: str | None = None
    expiring_before: datetime | None = None
    limit: int = 50
    offset: int = 0

    def states(self) -> list[str] | None:
        """The states the filters allow (None: any); `env` picks the states that run there."""
        family = {"production": PRODUCTION_STATES, "pilot": PILOT_STATES}.get(self.env or "")
        allowed = sorted(s.value for s in family) if family is not None else None
        if self.state:
            return [self.state] if allowed is None or self.state in allowed else []
        return allowed

    def conditions(self, now: datetime) -> list[Any]:
        """The WHERE conditions of these filters."""
        conditions = system_filters(self.states(), self.tier, None, self.search, self.overdue)
        if self.owner:
            conditions.append(owned_by(self.owner))
        if self.expiring_before is not None:
            column = SYSTEMS.c.exception_expires_at
            conditions += [column > now, column <= self.expiring_before]
        return conditions


def owned_by(owner: str) -> ColumnElement[bool]:
    """Systems `owner` owns (business or technical), checked in the estate's urgency index.

    `|| ''` keeps SQLite off the two owner indexes: their union is quick alone, but then every
    matching row is read to sort it by urgency (30 ms when one person owns 10,000 systems); in
    the covering urgency index the check reads no row and the order needs no sort (under 1 ms).
    """
    who = owner.lower()
    return or_(
        SYSTEMS.c.business_owner.concat("") == who, SYSTEMS.c.technical_owner.concat("") == who
    )


def page_ids(query: EstateQuery, now: datetime) -> Select[tuple[str]]:
    """The ids of one page in urgency order (read from the (urgency, id) indexes)."""
    return (
        select(SYSTEMS.c.id)
        .where(*query.conditions(now))
        .order_by(SYSTEMS.c.urgency, SYSTEMS.c.id)
        .offset(query.offset)
        .limit(query.limit)
    )


@dataclass(frozen=True)
class PageRow:
    """One estate row as stored: the view JSON and its nearest deadline (epoch seconds, what)."""

    id: str
    view_json: str
    urgency: int
    next_deadline: str | None


def page_views(session: Session, query: EstateQuery) -> tuple[list[PageRow], int]:
    """One page of systems in urgency order (nearest deadline first, passed ones first, then
    those without one; ties by id), and how many match.

    The page's ids are chosen first from the (urgency, id) indexes, and only those 50 views are
    read: sorting whole rows would drag every matching view through the sort.
    """
    at = datetime.now(UTC)
    total = session.execute(
        select(func.count()).select_from(SYSTEMS).where(*query.conditions(at))
    ).scalar_one()
    ids = list(session.execute(page_ids(query, at)).scalars())
    if not ids:
        return [], int(total)
    columns = (SYSTEMS.c.view_json, SYSTEMS.c.urgency, SYSTEMS.c.next_deadline)
    rows = session.execute(select(SYSTEMS.c.id, *columns).where(SYSTEMS.c.id.in_(ids))).all()
    by_id = {
        str(r.id): PageRow(str(r.id), str(r.view_json), int(r.urgency), r.next_deadline)
        for r in rows
    }
    return [by_id[i] for i in ids if i in by_id], int(total)


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


def contained_count(counts: dict[str, int]) -> int:
    """Systems contained after a finding (every gate closed)."""
    return counts.get(LifecycleState.contained.value, 0)


def _open_findings() -> Any:
    """Open findings: (system, code) pairs with a finding newer than their acknowledgement,
    on systems not retired (grouped over the (system_id, code) index)."""
    f, a = ACTION_FINDINGS.c, FINDING_ACKS.c
    grouped = (
        select(f.system_id, f.code, func.count().label("n"), func.max(f.id).label("last_id"))
        .group_by(f.system_id, f.code)
        .subquery()
    )
    acked = and_(a.system_id == grouped.c.system_id, a.code == grouped.c.code)
    return (
        select(grouped.c.system_id, grouped.c.code, grouped.c.n, grouped.c.last_id)
        .join(SYSTEMS, SYSTEMS.c.id == grouped.c.system_id)
        .outerjoin(FINDING_ACKS, acked)
        .where(SYSTEMS.c.state != LifecycleState.retired.value)
        .where(or_(a.through_id.is_(None), grouped.c.last_id > a.through_id))
    )


def finding_count(session: Session) -> int:
    """Open findings: finding kinds per system not acknowledged since, systems not retired."""
    found = _open_findings().subquery()
    return int(session.execute(select(func.count()).select_from(found)).scalar_one())


@dataclass(frozen=True)
class FindingLine:
    """One open finding kind on one system: how many times, the latest message and time."""

    system_id: str
    code: str
    count: int
    message: str
    at: str
    nhi: str | None


def open_findings(session: Session, *, limit: int, offset: int) -> tuple[list[FindingLine], int]:
    """One page of open findings (newest first) and how many there are."""
    query = _open_findings().subquery()
    total = int(session.execute(select(func.count()).select_from(query)).scalar_one())
    rows = session.execute(
        select(query).order_by(query.c.last_id.desc()).offset(offset).limit(limit)
    ).all()
    f = ACTION_FINDINGS.c
    last = {
        row.id: row
        for row in session.execute(
            select(f.id, f.message, f.at, f.nhi).where(f.id.in_([r.last_id for r in rows]))
        ).all()
    }
    lines = [
        FindingLine(
            r.system_id,
            r.code,
            int(r.n),
            last[r.last_id].message,
            last[r.last_id].at,
            last[r.last_id].nhi,
        )
        for r in rows
    ]
    return lines, total


def system_findings(session: Session, *, system_id: str) -> list[dict[str, Any]]:
    """A system's finding kinds: count, latest message, and the acknowledgement if current."""
    f, a = ACTION_FINDINGS.c, FINDING_ACKS.c
    grouped = session.execute(
        select(f.code, func.count().label("n"), func.max(f.id).label("last_id"))
        .where(f.system_id == system_id)
        .group_by(f.code)
    ).all()
    acks = {
        row.code: row
        for row in session.execute(select(FINDING_ACKS).where(a.system_id == system_id)).all()
    }
    ids = [g.last_id for g in grouped]
    last = {r.id: r for r in session.execute(select(f.id, f.message, f.at).where(f.id.in_(ids)))}
    out = []
    for g in sorted(grouped, key=lambda g: -int(g.last_id)):
        ack = acks.get(g.code)
        current = ack is not None and int(ack.through_id) >= int(g.last_id)
        out.append(
            {
                "code": g.code,
                "count": int(g.n),
                "message": last[g.last_id].message,
                "at": last[g.last_id].at,
                "ack": ack if current else None,
            }
        )
    return out


def acknowledge_finding(
    engine: Engine, *, system_id: str, code: str, reason: str, by: str, now: datetime
) -> int:
    """Record that `by` looked at a finding kind (up to its latest row), audited; the row id."""
    f, a = ACTION_FINDINGS.c, FINDING_ACKS.c
    with Session(engine) as session:
        through = session.execute(
            select(func.max(f.id)).where(f.system_id == system_id, f.code == code)
        ).scalar_one_or_none()
        if through is None:
            raise NotFound(f"system {system_id} has no finding {code}")
        session.execute(delete(FINDING_ACKS).where(a.system_id == system_id, a.code == code))
        session.execute(
            FINDING_ACKS.insert().values(
                system_id=system_id,
                code=code,
                through_id=int(through),
                reason=reason,
                by=by,
                at=now,
            )
        )
        event = AuditEvent(
            event_key=f"finding-ack:{system_id}:{code}:{through}:{now.isoformat()}",
            system_id=system_id,
            at=now,
            actor=by,
            action=AuditAction.finding_acknowledged.value,
            detail={"code": code, "reason": reason, "through_finding": int(through)},
        )
        append_events(session, events=[event])
        session.commit()
    return int(through)


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
