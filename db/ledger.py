"""The hash-chained audit ledger: idempotent appends, listing, and fast verification."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic_core import to_json
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from db.engine import placeholder
from db.tables import AUDIT_ENTRIES, AuditEntryRow, as_utc
from db.verify import PARALLEL_MIN_ENTRIES, VerifyReport, verify_ledger
from domain.contracts import AuditEvent
from domain.ledger import GENESIS, entry_hash

AUDIT = "audit"
_ZERO = timedelta(0)
_KEY_CHUNK = 500


def iso_utc(value: datetime) -> str:
    """Fixed-width ISO-8601 in UTC (microseconds always shown) so text order is time order."""
    if value.utcoffset() == _ZERO:  # already UTC (any tzinfo object): prints +00:00 as is
        return value.isoformat(timespec="microseconds")
    return as_utc(value).isoformat(timespec="microseconds")


def detail_json(detail: dict[str, Any]) -> str:
    """Compact JSON of an event's detail, the same before and after a Temporal round trip.

    Keys keep their order: the workflow builds each detail deterministically, and the chain
    hashes the stored text, so verification never re-serialises.
    """
    return to_json(detail, fallback=str).decode()


_ENTRY_COLUMNS = (
    "chain_id",
    "seq",
    "event_key",
    "at",
    "actor",
    "action",
    "request_id",
    "detail",
    "prev_hash",
    "hash",
)


def append_events(session: Session, *, events: list[AuditEvent]) -> int:
    """Append new events to their systems' chains (known event keys are skipped); no commit.

    Hot path (every workflow batch goes through it): a handful of statements per batch, each
    an `executemany` straight to the driver. Event keys are assumed new (a retried activity is
    rare); the unique index on `event_key` says when they are not, and only then are the known
    keys looked up and the rows rebuilt without them.
    """
    fresh = _first_of_each_key(events)
    if not fresh:
        return 0
    sql = _Sql(session)
    heads = sql.lock_heads(AUDIT, sorted({e.system_id for e in fresh}))
    rows, moved = _chain(fresh, heads, known=set())
    try:
        with sql.conn.begin_nested():
            sql.insert_entries(rows)
    except IntegrityError:
        known = sql.known_keys([e.event_key for e in fresh])
        rows, moved = _chain(fresh, heads, known=known)
        if rows:
            sql.insert_entries(rows)
    if rows:
        sql.move_heads(AUDIT, moved)
    return len(rows)


def _chain(
    events: list[AuditEvent], heads: dict[str, tuple[int, str]], *, known: set[str]
) -> tuple[list[tuple[Any, ...]], dict[str, tuple[int, str]]]:
    """Rows for the events not `known`, chained onto `heads`; and each chain's new head."""
    rows: list[tuple[Any, ...]] = []
    moved: dict[str, tuple[int, str]] = {}
    for event in events:
        if event.event_key in known:
            continue
        seq, prev = moved.get(event.system_id) or heads[event.system_id]
        row = _entry_row(event, seq=seq + 1, prev_hash=prev)
        moved[event.system_id] = (seq + 1, row[-1])
        rows.append(row)
    return rows, moved


class _Sql:
    """The ledger's statements in the session's dialect, executed on its connection."""

    def __init__(self, session: Session) -> None:
        self.conn = session.connection()
        self.postgres = self.conn.dialect.name == "postgresql"
        self.mark = placeholder(self.conn.dialect.name)

    def marks(self, count: int) -> str:
        """`count` placeholders, comma-separated."""
        return ", ".join([self.mark] * count)

    def lock_heads(self, ledger: str, chains: list[str]) -> dict[str, tuple[int, str]]:
        """Create missing chain heads, then read them locked (FOR UPDATE on PostgreSQL)."""
        self.conn.exec_driver_sql(
            f"INSERT INTO chain_heads (ledger, chain_id, seq, hash) VALUES ({self.marks(4)})"
            " ON CONFLICT (ledger, chain_id) DO NOTHING",
            [(ledger, chain, 0, GENESIS) for chain in chains],
        )
        heads: dict[str, tuple[int, str]] = {}
        for part in _chunks(chains):
            query = (
                f"SELECT chain_id, seq, hash FROM chain_heads WHERE ledger = {self.mark}"
                f" AND chain_id IN ({self.marks(len(part))}) ORDER BY chain_id"
            )
            query += " FOR UPDATE" if self.postgres else ""
            for chain, seq, head in self.conn.exec_driver_sql(query, (ledger, *part)):
                heads[chain] = (int(seq), str(head))
        return heads

    def known_keys(self, keys: list[str]) -> set[str]:
        """The event keys already in the ledger."""
        known: set[str] = set()
        for part in _chunks(keys):
            query = (
                f"SELECT event_key FROM audit_entries WHERE event_key IN ({self.marks(len(part))})"
            )
            known.update(self.conn.exec_driver_sql(query, tuple(part)).scalars())
        return known

    def insert_entries(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert new entries (column order `_ENTRY_COLUMNS`)."""
        self.conn.exec_driver_sql(
            f"INSERT INTO audit_entries ({', '.join(_ENTRY_COLUMNS)})"
            f" VALUES ({self.marks(len(_ENTRY_COLUMNS))})",
            rows,
        )

    def move_heads(self, ledger: str, heads: dict[str, tuple[int, str]]) -> None:
        """Point each chain's head at its new last entry."""
        self.conn.exec_driver_sql(
            f"UPDATE chain_heads SET seq = {self.mark}, hash = {self.mark}"
            f" WHERE ledger = {self.mark} AND chain_id = {self.mark}",
            [(seq, head, ledger, chain) for chain, (seq, head) in heads.items()],
        )


def _chunks(values: list[str]) -> list[list[str]]:
    """Split a list into IN-clause-sized parts."""
    return [values[i : i + _KEY_CHUNK] for i in range(0, len(values), _KEY_CHUNK)]


def _first_of_each_key(events: list[AuditEvent]) -> list[AuditEvent]:
    """The events in order, keeping only the first of any repeated event key."""
    first: dict[str, AuditEvent] = {}
    for event in events:
        first.setdefault(event.event_key, event)
    return list(first.values())


def _entry_row(event: AuditEvent, *, seq: int, prev_hash: str) -> tuple[Any, ...]:
    """The column values of one new entry (`_ENTRY_COLUMNS` order), hash last."""
    at = iso_utc(event.at)
    detail = detail_json(event.detail)
    system, actor, action = event.system_id, event.actor, event.action
    digest = entry_hash(prev_hash, system, seq, at, actor, action, event.request_id or "", detail)
    return (
        system,
        seq,
        event.event_key,
        at,
        actor,
        action,
        event.request_id,
        detail,
        prev_hash,
        digest,
    )


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


def verify_chains(
    engine: Engine, *, chain_id: str | None = None, parallel_from: int = PARALLEL_MIN_ENTRIES
) -> VerifyReport:
    """Recompute every audit chain (or one) and report the first broken entry, if any."""
    return verify_ledger(engine, ledger=AUDIT, chain_id=chain_id, parallel_from=parallel_from)
