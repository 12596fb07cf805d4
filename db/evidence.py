"""Read one system's (or every system's) evidence from the projection and the audit ledger."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Engine, select
from sqlmodel import Session

from db.ledger import AUDIT, iso_utc
from db.tables import APPROVAL_REQUESTS, AUDIT_ENTRIES, CHAIN_HEADS, SYSTEMS, as_utc, utcnow
from domain.approvals import ApprovalRequest
from domain.contracts import SystemView
from domain.errors import NotFound
from domain.evidence import (
    EvidencePack,
    LedgerEntry,
    LedgerHead,
    SystemEvidence,
    evidence_pack,
    system_evidence,
)


def ledger_entries(
    session: Session, *, system_id: str, since: datetime | None = None
) -> list[LedgerEntry]:
    """A system's audit entries in chain order (from `since` on)."""
    columns = AUDIT_ENTRIES.c
    query = select(
        columns.seq,
        columns.at,
        columns.actor,
        columns.action,
        columns.request_id,
        columns.detail,
        columns.prev_hash,
        columns.hash,
    ).where(columns.chain_id == system_id)
    if since is not None:
        query = query.where(columns.at >= iso_utc(since))
    rows = session.execute(query.order_by(columns.seq)).all()
    return [
        LedgerEntry(
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            action=row.action,
            request_id=row.request_id,
            detail=json.loads(row.detail),
            prev_hash=row.prev_hash,
            hash=row.hash,
        )
        for row in rows
    ]


def ledger_head(session: Session, *, system_id: str) -> LedgerHead | None:
    """The system's audit chain head now."""
    row = session.execute(
        select(CHAIN_HEADS.c.seq, CHAIN_HEADS.c.hash).where(
            CHAIN_HEADS.c.ledger == AUDIT, CHAIN_HEADS.c.chain_id == system_id
        )
    ).first()
    return LedgerHead(chain_id=system_id, seq=row.seq, hash=row.hash) if row else None


def system_requests(
    session: Session, *, system_id: str, since: datetime | None = None
) -> list[ApprovalRequest]:
    """A system's approval requests, oldest first (those open or closed from `since` on)."""
    columns = APPROVAL_REQUESTS.c
    query = select(columns.request_json).where(columns.system_id == system_id)
    if since is not None:
        query = query.where(columns.updated_at >= as_utc(since))
    requests = [ApprovalRequest.model_validate_json(t) for t in session.execute(query).scalars()]
    return sorted(requests, key=lambda r: (r.opened_at, r.id))


def one_system(
    session: Session, *, system_id: str, since: datetime | None = None
) -> SystemEvidence:
    """One system's evidence; NotFound when it was never registered."""
    text = session.execute(
        select(SYSTEMS.c.view_json).where(SYSTEMS.c.id == system_id)
    ).scalar_one_or_none()
    if text is None:
        raise NotFound(f"system {system_id} not found")
    view = SystemView.model_validate_json(text)
    return system_evidence(
        system_id=view.system_id,
        state=view.state.value,
        manifest=view.in_force,
        requirements=view.requirements,
        entries=ledger_entries(session, system_id=system_id, since=since),
        requests=system_requests(session, system_id=system_id, since=since),
        head=ledger_head(session, system_id=system_id),
    )


def system_ids(session: Session) -> Iterator[str]:
    """Every system id in the projection, in order."""
    yield from session.execute(select(SYSTEMS.c.id).order_by(SYSTEMS.c.id)).scalars()


def export_pack(
    engine: Engine, *, system_id: str | None, by: str, since: datetime | None = None
) -> EvidencePack:
    """The evidence pack of one system (`system_id`) or of every system (None)."""
    with Session(engine) as session:
        ids = [system_id] if system_id is not None else list(system_ids(session))
        systems = [one_system(session, system_id=sid, since=since) for sid in ids]
    return evidence_pack(systems, at=utcnow(), by=by, since=since)
