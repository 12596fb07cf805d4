"""Dormancy read: each watched system's view beside its last recorded actions (two queries).

The sweep reads the same way one page of systems at a time, and stores the finding of each
new episode of an unused production credential in `action_findings` (once per episode).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from db.ledger import _Sql, iso_utc
from db.tables import ACTIONS, SYSTEMS, TICKETS
from domain.contracts import SystemView
from domain.dormancy import (
    FINDING_CODE,
    WATCHED,
    Dormant,
    SystemDormancy,
    dormant,
    finding_message,
    finding_record_key,
    fresh,
    review_ticket_id,
)


def _when(text: str) -> datetime:
    """A stored ledger time (ISO 8601, UTC) as a datetime."""
    return datetime.fromisoformat(text)


def _read(
    session: Session,
    *,
    now: datetime,
    days: int,
    system_id: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> list[tuple[SystemView, list[Dormant]]]:
    """Each watched system (one, or a page after `after` by id) with its dormant items."""
    views_q = select(SYSTEMS.c.id, SYSTEMS.c.view_json).where(
        SYSTEMS.c.state.in_([s.value for s in WATCHED])
    )
    if system_id is not None:
        views_q = views_q.where(SYSTEMS.c.id == system_id)
    if after is not None:
        views_q = views_q.where(SYSTEMS.c.id > after)
    views_q = views_q.order_by(SYSTEMS.c.id)
    if limit is not None:
        views_q = views_q.limit(limit)
    rows = session.execute(views_q).all()
    a = ACTIONS.c
    last_q = select(a.chain_id, a.credential_id, func.max(a.at)).group_by(
        a.chain_id, a.credential_id
    )
    if system_id is not None:
        last_q = last_q.where(a.chain_id == system_id)
    elif after is not None or limit is not None:
        last_q = last_q.where(a.chain_id.in_([row.id for row in rows]))
    per_credential: dict[str, dict[str, datetime]] = {}
    per_system: dict[str, datetime] = {}
    for chain, credential, at in session.execute(last_q):
        when = _when(at)
        if credential is not None:
            per_credential.setdefault(chain, {})[credential] = when
        if chain not in per_system or when > per_system[chain]:
            per_system[chain] = when
    out: list[tuple[SystemView, list[Dormant]]] = []
    for row in rows:
        view = SystemView.model_validate_json(row.view_json)
        found = dormant(
            view, per_credential.get(view.system_id, {}), per_system.get(view.system_id), now, days
        )
        out.append((view, found))
    return out


def dormancy(
    session: Session,
    *,
    now: datetime,
    days: int,
    system_id: str | None = None,
    environment: str | None = None,
) -> list[Dormant]:
    """Dormant credentials and systems across the inventory (or one system, one environment).

    Each item carries the key of the review ticket the sweep opened for its episode, if any.
    """
    if days <= 0:
        return []
    found = [
        d
        for _, items in _read(session, now=now, days=days, system_id=system_id)
        for d in items
        if environment is None or d.environment == environment
    ]
    return _with_reviews(session, found)


def _with_reviews(session: Session, items: list[Dormant]) -> list[Dormant]:
    """The items with `review` set where the sweep opened a ticket for their episode."""
    ids = {review_ticket_id(d): d for d in items}
    if not ids:
        return items
    t = TICKETS.c
    keys: dict[str, str] = {}
    chunk = list(ids)
    for start in range(0, len(chunk), 500):
        part = chunk[start : start + 500]
        query = select(t.request_id, t.key).where(t.request_id.in_(part))
        keys.update({str(r): str(k) for r, k in session.execute(query)})
    return [
        d.model_copy(update={"review": keys[review_ticket_id(d)]})
        if review_ticket_id(d) in keys
        else d
        for d in items
    ]


def sweep_page(
    session: Session, *, now: datetime, days: int, after: str, limit: int
) -> tuple[list[SystemDormancy], str | None]:
    """One page of the sweep: each system whose dormancy episodes start or end now.

    A system whose projected episodes stay as they are is left out, so a steady estate costs
    no signals; the workflow decides again from its own state, so a stale projection only
    sends a signal it ignores. The second value is where the next page starts (None after the
    last page).
    """
    read = _read(session, now=now, days=days, after=after, limit=limit)
    systems = [
        SystemDormancy(system_id=view.system_id, items=items)
        for view, items in read
        if fresh(view.dormancy, items)[1] != view.dormancy
    ]
    return systems, (read[-1][0].system_id if len(read) == limit else None)


def store_findings(engine: Engine, items: Iterable[Dormant], *, days: int, now: datetime) -> int:
    """Store a finding for each item that is one, once per episode; how many were new."""
    rows = [
        (
            d.system_id,
            FINDING_CODE,
            finding_message(d, days),
            "NHI1",
            finding_record_key(d),
            "",
            d.credential_id,
            iso_utc(now),
        )
        for d in items
        if d.finding
    ]
    if not rows:
        return 0
    with Session(engine) as session:
        sql = _Sql(session)
        inserted = 0
        for row in rows:
            result = sql.conn.exec_driver_sql(
                "INSERT INTO action_findings (system_id, code, message, nhi, record_key,"
                f" trace_id, credential_id, at) VALUES ({sql.marks(8)})"
                " ON CONFLICT (record_key, code) DO NOTHING",
                row,
            )
            inserted += max(result.rowcount, 0)
        session.commit()
    return inserted
