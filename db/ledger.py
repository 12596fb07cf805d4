"""The hash-chained audit ledger: idempotent appends, listing, and fast verification."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from db.tables import AUDIT_ENTRIES, CHAIN_HEADS, AuditEntryRow, as_utc
from db.verify import VerifyReport, verify_ledger
from domain.ledger import GENESIS, canonical, chain_hash
from workflows.models import AuditEvent

AUDIT = "audit"
_KEY_CHUNK = 500


def iso_utc(value: datetime) -> str:
    """Fixed-width ISO-8601 in UTC (microseconds always shown) so text order is time order."""
    return as_utc(value).isoformat(timespec="microseconds")


def detail_json(detail: dict[str, Any]) -> str:
    """Canonical JSON of an event's detail, the same before and after a Temporal round trip."""
    plain = to_jsonable_python(detail, fallback=str)
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(prev_hash: str, fields: Sequence[str]) -> str:
    """The hash of an entry given the previous hash and its fields in ledger order."""
    return chain_hash(prev_hash, canonical(fields))


def append_events(session: Session, *, events: list[AuditEvent]) -> int:
    """Append new events to their systems' chains (known event keys are skipped); no commit."""
    fresh = _first_of_each_key(events)
    if not fresh:
        return 0
    heads = {
        chain: _lock_head(session, ledger=AUDIT, chain_id=chain)
        for chain in sorted({e.system_id for e in fresh})
    }
    known = _known_keys(session, keys=[e.event_key for e in fresh])
    rows: list[dict[str, Any]] = []
    for event in fresh:
        if event.event_key in known:
            continue
        seq, prev = heads[event.system_id]
        row = _entry_row(event, seq=seq + 1, prev_hash=prev)
        heads[event.system_id] = (seq + 1, row["hash"])
        rows.append(row)
    if not rows:
        return 0
    session.execute(AUDIT_ENTRIES.insert(), rows)
    for chain in {row["chain_id"] for row in rows}:
        seq, head_hash = heads[chain]
        session.execute(
            update(CHAIN_HEADS)
            .where(CHAIN_HEADS.c.ledger == AUDIT, CHAIN_HEADS.c.chain_id == chain)
            .values(seq=seq, hash=head_hash)
        )
    return len(rows)


def _first_of_each_key(events: list[AuditEvent]) -> list[AuditEvent]:
    """The events in order, keeping only the first of any repeated event key."""
    first: dict[str, AuditEvent] = {}
    for event in events:
        first.setdefault(event.event_key, event)
    return list(first.values())


def _entry_row(event: AuditEvent, *, seq: int, prev_hash: str) -> dict[str, Any]:
    """The column values of one new entry, hash included."""
    at = iso_utc(event.at)
    detail = detail_json(event.detail)
    fields = [event.system_id, str(seq), at, event.actor, event.action]
    fields += [event.request_id or "", detail]
    return {
        "chain_id": event.system_id,
        "seq": seq,
        "event_key": event.event_key,
        "at": at,
        "actor": event.actor,
        "action": event.action,
        "request_id": event.request_id,
        "detail": detail,
        "prev_hash": prev_hash,
        "hash": entry_hash(prev_hash, fields),
    }


def _lock_head(session: Session, *, ledger: str, chain_id: str) -> tuple[int, str]:
    """Create the chain head if missing, then lock it (FOR UPDATE on PostgreSQL)."""
    table = CHAIN_HEADS
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(table)
        .values(ledger=ledger, chain_id=chain_id, seq=0, hash=GENESIS)
        .on_conflict_do_nothing(index_elements=["ledger", "chain_id"])
    )
    head = session.execute(
        select(table.c.seq, table.c.hash)
        .where(table.c.ledger == ledger, table.c.chain_id == chain_id)
        .with_for_update()
    ).one()
    return int(head.seq), str(head.hash)


def _known_keys(session: Session, *, keys: list[str]) -> set[str]:
    """The event keys already in the ledger."""
    known: set[str] = set()
    column = AUDIT_ENTRIES.c.event_key
    for start in range(0, len(keys), _KEY_CHUNK):
        chunk = keys[start : start + _KEY_CHUNK]
        known.update(session.execute(select(column).where(column.in_(chunk))).scalars())
    return known


def list_events(
    session: Session,
    *,
    system_id: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntryRow]:
    """Audit entries in time order, optionally for one system and from a moment on."""
    columns = AUDIT_ENTRIES.c
    query = select(AuditEntryRow)
    if system_id is not None:
        query = query.where(columns.chain_id == system_id)
    if since is not None:
        query = query.where(columns.at >= iso_utc(since))
    query = query.order_by(columns.at, columns.id).offset(offset).limit(limit)
    return list(session.execute(query).scalars())


def verify_chains(engine: Engine, *, chain_id: str | None = None) -> VerifyReport:
    """Recompute every audit chain (or one) and report the first broken entry, if any."""
    return verify_ledger(engine, ledger=AUDIT, chain_id=chain_id)
