"""Dashboard reads for the inventory pages: credentials, actions, exceptions, chart data.

Every read is one paged or aggregated SQL query (no query per row).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlmodel import Session

from db.tables import (
    ACTION_FINDINGS,
    ACTIONS,
    APPROVAL_REQUESTS,
    AUDIT_ENTRIES,
    FINDING_ACKS,
    SYSTEM_CREDENTIALS,
    SYSTEMS,
)

STATE_ENTERED = {
    "registered": "registered",
    "entered_pilot": "pilot",
    "promotion_requested": "promotion_pending",
    "promotion_rejected": "pilot",
    "promotion_withdrawn": "pilot",
    "promotion_expired": "pilot",
    "entered_production": "production",
    "revalidation_requested": "revalidation_pending",
    "revalidation_approved": "production",
    "recertification_requested": "recertification_due",
    "recertified": "production",
    "recertification_overdue": "overdue",
    "contained": "contained",
    "released": "production",
    "retired": "retired",
}
"""The lifecycle state an audit action moves a system into."""
HAS_EXCEPTIONS = SYSTEMS.c.has_exceptions.is_(True)
"""Systems that ever had a waiver (the exceptions page, over its index)."""


def credential_page(
    session: Session, *, system: str | None, environment: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Declared credentials with their system's stored view, last use and findings (one query
    for the page, one for the total)."""
    c = SYSTEM_CREDENTIALS.c
    conds = []
    if system:
        conds.append(c.system_id == system)
    if environment:
        conds.append(c.environment == environment)
    last_use = (
        select(func.max(ACTIONS.c.at))
        .where(ACTIONS.c.credential_id == c.credential_id)
        .scalar_subquery()
    )
    findings = (
        select(func.count())
        .select_from(ACTION_FINDINGS)
        .where(ACTION_FINDINGS.c.credential_id == c.credential_id)
        .where(ACTION_FINDINGS.c.system_id == c.system_id)
        .scalar_subquery()
    )
    query = (
        select(c.system_id, c.credential_id, c.environment, last_use, findings, SYSTEMS.c.view_json)
        .join(SYSTEMS, SYSTEMS.c.id == c.system_id)
        .where(*conds)
        .order_by(c.system_id, c.credential_id)
        .limit(limit)
        .offset(offset)
    )
    total = session.execute(select(func.count()).select_from(SYSTEM_CREDENTIALS).where(*conds))
    rows = []
    for system_id, cred_id, env, used, found, view_text in session.execute(query):
        view = json.loads(view_text)
        declared: dict[str, Any] = next(
            (x for x in view["manifest"].get("credentials", []) if x["id"] == cred_id), {}
        )
        revocation = (view.get("revocations") or {}).get(cred_id, "")  # requested/confirmed/failed
        rows.append(
            {
                "system_id": system_id,
                "id": cred_id,
                "environment": env,
                "kind": declared.get("kind", "?"),
                "vault_ref": declared.get("vault_ref", ""),
                "expires_at": declared.get("expires_at"),
                "last_use": used,
                "findings": int(found or 0),
                "revocation": revocation,
            }
        )
    return rows, int(total.scalar_one())


def action_page(
    session: Session,
    *,
    system: str | None,
    credential: str | None,
    tool: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Recorded actions, newest first, by system, credential and tool (no content shown)."""
    a = ACTIONS.c
    conds = []
    if system:
        conds.append(a.chain_id == system)
    if credential:
        conds.append(a.credential_id == credential)
    if tool:
        conds.append(a.tool == tool)
    columns = (a.id, a.chain_id, a.seq, a.at, a.environment, a.kind, a.tool, a.target)
    query = select(*columns, a.credential_id, a.approved_by, a.trace_id).where(*conds)
    query = query.order_by(a.at.desc(), a.id.desc()).limit(limit).offset(offset)
    total = session.execute(select(func.count()).select_from(ACTIONS).where(*conds))
    rows = [dict(r._mapping) for r in session.execute(query)]
    return rows, int(total.scalar_one())


def exception_page(
    session: Session, *, now: datetime, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Systems' waivers (active and ended) with days left, from systems that ever had one
    (the indexed `has_exceptions` flag: only those systems' views are read)."""
    marker = HAS_EXCEPTIONS
    query = select(SYSTEMS.c.id, SYSTEMS.c.view_json).where(marker).order_by(SYSTEMS.c.id)
    total = session.execute(select(func.count()).select_from(SYSTEMS).where(marker))
    rows: list[dict[str, Any]] = []
    for system_id, text in session.execute(query.limit(limit).offset(offset)):
        for item in json.loads(text).get("exceptions") or []:
            until = datetime.fromisoformat(item["until"])
            left = (until - now).total_seconds() / 86400
            rows.append(
                {
                    "system_id": system_id,
                    "gap": item.get("gap"),
                    "status": item.get("status"),
                    "until": until,
                    "days_left": max(0, int(left)) if item.get("status") == "active" else None,
                    "requested_by": item.get("requested_by"),
                    "granted_by": item.get("granted_by") or [],
                    "reason": item.get("reason", ""),
                }
            )
    return rows, int(total.scalar_one())


def lifecycle_events(session: Session, *, system_id: str) -> list[tuple[str, str, str | None]]:
    """(at, state entered, request id) of one system's lifecycle moves, oldest first."""
    e = AUDIT_ENTRIES.c
    query = (
        select(e.at, e.action, e.request_id)
        .where(e.chain_id == system_id, e.action.in_(list(STATE_ENTERED)))
        .order_by(e.seq)
    )
    return [(at, STATE_ENTERED[action], rid) for at, action, rid in session.execute(query)]


def pending_ages(session: Session, *, now: datetime) -> list[timedelta]:
    """How long each pending approval request has waited (since its last change)."""
    r = APPROVAL_REQUESTS.c
    query = select(r.updated_at).where(r.status == "pending")
    return [now - at for (at,) in session.execute(query)]


def due_dates(session: Session, *, now: datetime, days: int) -> list[tuple[datetime, str, str]]:
    """(when, kind, system) of recertifications and exception expiries within `days`."""
    s = SYSTEMS.c
    end = now + timedelta(days=days)
    recert = select(s.recertification_due_at, s.id).where(
        s.recertification_due_at >= now, s.recertification_due_at < end
    )
    expiry = select(s.exception_expires_at, s.id).where(
        s.exception_expires_at >= now, s.exception_expires_at < end
    )
    found = [(at, "recertification", sid) for at, sid in session.execute(recert)]
    return found + [(at, "expiry", sid) for at, sid in session.execute(expiry)]


def findings_by_week(
    session: Session, *, since: str
) -> tuple[list[tuple[str, int]], list[datetime]]:
    """Finding times (at, count) since `since`, and acknowledgement times (what closes one)."""
    f = ACTION_FINDINGS.c
    day = func.substr(f.at, literal_column("1"), literal_column("10"))  # one GROUP BY expression
    opened = select(day, func.count()).where(f.at >= since).group_by(day)
    closed = select(FINDING_ACKS.c.at).where(FINDING_ACKS.c.at >= datetime.fromisoformat(since))
    days = [(str(day), int(n)) for day, n in session.execute(opened)]
    return days, [at for (at,) in session.execute(closed)]
