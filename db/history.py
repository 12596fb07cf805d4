"""Reading one system's audit chain up to a moment, for point-in-time answers."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session, select

from db.ledger import iso_utc
from db.tables import AUDIT_ENTRIES, AuditEntryRow
from domain.pointintime import LedgerEntry


def _detail(text: str) -> dict[str, object] | None:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def entries_until(session: Session, *, system_id: str, at: datetime) -> list[LedgerEntry]:
    """The system's audit entries at or before `at`, in chain order."""
    columns = AUDIT_ENTRIES.c
    query = (
        select(AuditEntryRow)
        .where(columns.chain_id == system_id, columns.at <= iso_utc(at))
        .order_by(columns.seq)
    )
    return [
        LedgerEntry(
            at=datetime.fromisoformat(row.at.replace("Z", "+00:00")),
            actor=row.actor,
            action=row.action,
            request_id=row.request_id,
            detail=_detail(row.detail),
        )
        for row in session.execute(query).scalars()
    ]
