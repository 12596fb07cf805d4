"""Read queries over the projection: systems, approval requests and shared credentials."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, func, or_, select, union
from sqlmodel import Session

from db.engine import placeholder, read_rows
from db.tables import APPROVAL_REQUESTS, SYSTEM_CREDENTIALS, SYSTEMS
from domain.approvals import ApprovalRequest
from domain.contracts import SystemView
from domain.lifecycle import LifecycleState


class SystemSummary(BaseModel):
    """One line of the systems list (no manifest)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)
    id: str
    name: str
    state: str
    environment: str
    risk_tier: str
    applies: bool
    business_owner: str | None
    technical_owner: str | None
    pending_request_id: str | None
    recertification_due_at: datetime | None = None
    overdue_since: datetime | None = None
    exception_expires_at: datetime | None = None
    version: int
    updated_at: datetime


_SUMMARY_COLUMNS = [SYSTEMS.c[name] for name in SystemSummary.model_fields]


def get_system(session: Session, *, system_id: str) -> SystemView | None:
    """The stored view of one system, or None."""
    text = session.execute(
        select(SYSTEMS.c.view_json).where(SYSTEMS.c.id == system_id)
    ).scalar_one_or_none()
    return SystemView.model_validate_json(text) if text is not None else None


def _like(term: str) -> str:
    """A LIKE pattern matching `term` anywhere, with wildcards in it taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def system_filters(
    states: Sequence[str] | None,
    risk_tier: str | None,
    owner: str | None,
    search: str | None,
    overdue: bool = False,
    due_before: datetime | None = None,
) -> list[Any]:
    """WHERE conditions for the systems list (`states`: any of them; None: any state)."""
    conditions: list[Any] = []
    if overdue:
        conditions.append(SYSTEMS.c.overdue_since.is_not(None))
    if due_before is not None:
        conditions.append(SYSTEMS.c.recertification_due_at <= due_before)
        conditions.append(SYSTEMS.c.state.not_in(["retired"]))
    if states is not None:
        conditions.append(SYSTEMS.c.state.in_(list(states)))
    if risk_tier:
        conditions.append(SYSTEMS.c.risk_tier == risk_tier)
    if owner:
        who = owner.lower()
        # A union of two index-only lookups: an OR over both columns reads every row.
        owned = union(
            select(SYSTEMS.c.id).where(SYSTEMS.c.business_owner == who),
            select(SYSTEMS.c.id).where(SYSTEMS.c.technical_owner == who),
        )
        conditions.append(SYSTEMS.c.id.in_(owned))
    if search:
        pattern = _like(search)
        conditions.append(
            or_(
                SYSTEMS.c.id.ilike(pattern, escape="\\"),
                SYSTEMS.c.name.ilike(pattern, escape="\\"),
            )
        )
    return conditions


def list_systems(
    session: Session,
    *,
    state: str | None = None,
    risk_tier: str | None = None,
    owner: str | None = None,
    search: str | None = None,
    overdue: bool = False,
    due_before: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[SystemSummary], int]:
    """One page of systems ordered by id, and how many match in total.

    `overdue`: recertification overdue; `due_before`: recertification due by then.
    """
    conditions = system_filters(
        [state] if state else None, risk_tier, owner, search, overdue, due_before
    )
    total = session.execute(
        select(func.count()).select_from(SYSTEMS).where(*conditions)
    ).scalar_one()
    rows = session.execute(
        select(*_SUMMARY_COLUMNS)
        .where(*conditions)
        .order_by(SYSTEMS.c.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return [SystemSummary.model_validate(row) for row in rows], int(total)


def systems_with_exceptions(
    session: Session, *, expiring_before: datetime | None = None, system_id: str | None = None
) -> list[SystemView]:
    """Views of systems holding an active exception (ending by `expiring_before` if given)."""
    conditions: list[Any] = [SYSTEMS.c.exception_expires_at.is_not(None)]
    if expiring_before is not None:
        conditions.append(SYSTEMS.c.exception_expires_at <= expiring_before)
    if system_id:
        conditions.append(SYSTEMS.c.id == system_id)
    texts = session.execute(
        select(SYSTEMS.c.view_json).where(*conditions).order_by(SYSTEMS.c.exception_expires_at)
    ).scalars()
    return [SystemView.model_validate_json(text) for text in texts]


def get_request(session: Session, *, request_id: str) -> ApprovalRequest | None:
    """The stored approval request, or None."""
    text = session.execute(
        select(APPROVAL_REQUESTS.c.request_json).where(APPROVAL_REQUESTS.c.id == request_id)
    ).scalar_one_or_none()
    return ApprovalRequest.model_validate_json(text) if text is not None else None


def awaits(request: ApprovalRequest, principal: str) -> bool:
    """Whether a person is eligible (or in the fallback group) and has not decided yet."""
    who = principal.lower()
    if any(d.principal.lower() == who for d in request.decisions):
        return False
    people = [p for holders in request.eligible.values() for p in holders] + request.fallback
    return any(p.lower() == who for p in people)


def list_requests(
    session: Session,
    *,
    system_id: str | None = None,
    status: str | None = None,
    principal: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ApprovalRequest], int]:
    """One page of requests, newest change first, and the total; `principal`: awaiting them."""
    columns = APPROVAL_REQUESTS.c
    conditions: list[Any] = []
    if system_id:
        conditions.append(columns.system_id == system_id)
    if status:
        conditions.append(columns.status == status)
    query = select(columns.request_json).where(*conditions)
    query = query.order_by(columns.updated_at.desc(), columns.id)
    if principal is not None:
        mention = f'%"{principal.lower()}"%'
        query = query.where(func.lower(columns.request_json).like(mention))
        found = [ApprovalRequest.model_validate_json(t) for t in session.execute(query).scalars()]
        waiting = [r for r in found if awaits(r, principal)]
        return waiting[offset : offset + limit], len(waiting)
    total = session.execute(
        select(func.count()).select_from(APPROVAL_REQUESTS).where(*conditions)
    ).scalar_one()
    texts = session.execute(query.offset(offset).limit(limit)).scalars()
    return [ApprovalRequest.model_validate_json(t) for t in texts], int(total)


def system_credential_ids(session: Session, *, system_id: str) -> list[str]:
    """The credential ids a system's projected manifest declares."""
    column = SYSTEM_CREDENTIALS.c
    query = select(column.credential_id).where(column.system_id == system_id)
    return sorted(session.execute(query).scalars())


def shared_credentials(engine: Engine, *, credential_ids: Sequence[str]) -> dict[str, list[str]]:
    """For each credential id in use, the systems (not retired) that declare it."""
    if not credential_ids:
        return {}
    return _declared_by(engine, own=False, count=len(credential_ids), params=list(credential_ids))


def system_sharing(
    engine: Engine, *, system_id: str, credential_ids: Sequence[str] = ()
) -> dict[str, list[str]]:
    """`shared_credentials` of the system's projected credentials plus `credential_ids`.

    One statement (the event path runs it per event): the system's own ids come from a subquery.
    """
    wanted = sorted(credential_ids)
    return _declared_by(engine, own=True, count=len(wanted), params=[system_id, *wanted])


def _declared_by(
    engine: Engine, *, own: bool, count: int, params: list[str]
) -> dict[str, list[str]]:
    """Credential id → the systems (not retired) declaring it: the system's own and/or listed ids.

    Plain SQL to the driver: every registration and scope-change event asks this on the event
    loop, and building a SQLAlchemy statement (and its cache key) cost far more than the read.
    """
    sql = _declared_by_sql(engine.dialect.name, own, count)
    rows = read_rows(engine, sql, [*params, LifecycleState.retired.value])
    found: dict[str, list[str]] = {}
    for credential_id, system_id in rows:
        found.setdefault(credential_id, []).append(system_id)
    return found


@lru_cache(maxsize=256)
def _declared_by_sql(dialect: str, own: bool, count: int) -> str:
    """The `_declared_by` SELECT for the system's own credentials and/or `count` listed ids."""
    mark = placeholder(dialect)
    wanted: list[str] = []
    if own:
        wanted.append(
            "c.credential_id IN (SELECT o.credential_id FROM system_credentials o"
            f" WHERE o.system_id = {mark})"
        )
    if count:
        wanted.append(f"c.credential_id IN ({', '.join([mark] * count)})")
    return (
        "SELECT c.credential_id, c.system_id FROM system_credentials c"
        " JOIN systems s ON s.id = c.system_id"
        f" WHERE ({' OR '.join(wanted)}) AND s.state <> {mark}"
        " ORDER BY c.credential_id, c.system_id"
    )


def credential_inventory(
    session: Session,
    *,
    system_id: str | None = None,
    environment: str | None = None,
    credential_id: str | None = None,
) -> list[dict[str, Any]]:
    """Every credential of the systems in the projection, with gaps, sharing and revocation."""
    query = select(SYSTEMS.c.view_json).order_by(SYSTEMS.c.id)
    if system_id is not None:
        query = query.where(SYSTEMS.c.id == system_id)
    views = [SystemView.model_validate_json(text) for text in session.execute(query).scalars()]
    holders: dict[str, list[str]] = {}
    for view in views:
        for credential in view.manifest.credentials:
            holders.setdefault(credential.id, []).append(view.system_id)
    if system_id is not None:
        rows = session.execute(
            select(SYSTEM_CREDENTIALS.c.credential_id, SYSTEM_CREDENTIALS.c.system_id)
        )
        for cid, sid in rows:
            if cid in holders and sid not in holders[cid]:
                holders[cid].append(sid)
    out: list[dict[str, Any]] = []
    for view in views:
        gaps = view.production_requirements.gaps
        for index, credential in enumerate(view.manifest.credentials):
            if environment is not None and credential.environment.value != environment:
                continue
            if credential_id is not None and credential.id != credential_id:
                continue
            prefix = f"credentials[{index}]."
            out.append(
                {
                    **credential.model_dump(mode="json"),
                    "system_id": view.system_id,
                    "system_state": view.state.value,
                    "shared_with": sorted(s for s in holders[credential.id] if s != view.system_id),
                    "revocation": view.revocations.get(credential.id),
                    "gaps": [
                        g.model_dump(mode="json")
                        for g in gaps
                        if g.field.startswith(prefix) and g.nhi is not None
                    ],
                }
            )
    return out
