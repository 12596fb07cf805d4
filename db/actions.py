"""The action ledger: checked, hash-chained appends per system, findings, trace and verify.

Ingest is a hot path: the approved scope of each system comes from a per-process cache of
the projection (`systems.view_json`, re-read only when the row's version moves), the checks
are pure (`domain.actions.check_action`), the chain is computed in one pass per batch, and the
rows go to the driver with `executemany`, as the audit ledger does.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from db.action_hash import ACTION_CHAINED, action_hash
from db.action_verify import verify_action_ledger
from db.ledger import _chunks, _Sql, iso_utc
from db.verify import PARALLEL_MIN_ENTRIES, VerifyReport
from domain.actions import (
    ActionRecord,
    ActionScope,
    Finding,
    action_scope,
    check_action,
    first_of_kind,
    kept_content,
    mask_secret_credential,
)
from domain.contracts import SystemView
from domain.lifecycle import CLOSED_STATES, PRODUCTION_STATES, LifecycleState

ACTIONS = "actions"
ACTION_COLUMNS = (
    "chain_id",
    "seq",
    "record_key",
    "at",
    "environment",
    "kind",
    "tool",
    "target",
    "credential_id",
    "approved_by",
    "trace_id",
    "content_digest",
    "content_length",
    "content",
    "model",
    "prev_hash",
    "hash",
)
_HASHED_AT = tuple(ACTION_COLUMNS.index(field) for field in ACTION_CHAINED)
FINDING_COLUMNS = (
    "system_id",
    "code",
    "message",
    "nhi",
    "record_key",
    "trace_id",
    "credential_id",
    "at",
)


class NewFinding(BaseModel):
    """The first finding of its kind for a system: the system's workflow is told."""

    model_config = ConfigDict(frozen=True)
    system_id: str
    code: str
    message: str
    nhi: str | None = None
    trace_id: str
    credential_id: str | None = None
    at: str


class IngestResult(BaseModel):
    """What one batch did."""

    model_config = ConfigDict(frozen=True)
    accepted: int
    duplicates: int
    findings: int
    first_findings: list[NewFinding]


_NO_MODEL = {"model"}


def record_key(record: ActionRecord) -> str:
    """The idempotency key: the system and the record's id, or a hash of the whole record.

    A record without a model hashes without the field, as every record did before it existed.
    """
    if record.id is not None:
        return f"{record.system}:{record.id}"
    text = record.model_dump_json(exclude=_NO_MODEL if record.model is None else None)
    return f"{record.system}:" + hashlib.sha256(text.encode()).hexdigest()


class ScopeCache:
    """Approved scopes per system from the projection, re-read when a system's version moves."""

    def __init__(self) -> None:
        self._scopes: dict[str, ActionScope] = {}
        self._lock = threading.Lock()

    def scopes(self, session: Session, system_ids: Sequence[str]) -> dict[str, ActionScope]:
        """The scope of each known system among `system_ids` (unknown ones are absent)."""
        sql = _Sql(session)
        versions: dict[str, int] = {}
        for part in _chunks(sorted(set(system_ids))):
            query = f"SELECT id, version FROM systems WHERE id IN ({sql.marks(len(part))})"
            versions.update(
                (str(i), int(v)) for i, v in sql.conn.exec_driver_sql(query, tuple(part))
            )
        stale = [
            s for s, v in versions.items() if s not in self._scopes or self._scopes[s].version != v
        ]
        for part in _chunks(stale):
            query = f"SELECT view_json FROM systems WHERE id IN ({sql.marks(len(part))})"
            for (text,) in sql.conn.exec_driver_sql(query, tuple(part)):
                scope = scope_of(SystemView.model_validate_json(text))
                with self._lock:
                    self._scopes[scope.system_id] = scope
        return {s: self._scopes[s] for s in versions}


def scope_of(view: SystemView) -> ActionScope:
    """What a system may do now: its approved manifest (its declared one while in pilot)."""
    state = view.state
    production = state in PRODUCTION_STATES or (
        state is LifecycleState.contained and view.approved_manifest is not None
    )
    manifest = view.in_force
    return action_scope(
        view.system_id,
        view.version,
        state.value,
        manifest,
        production=production,
        closed=state in CLOSED_STATES,
    )


def ingest_actions(
    engine: Engine, records: Sequence[ActionRecord], cache: ScopeCache
) -> IngestResult:
    """Check, chain and append a batch in one transaction; findings stored beside them."""
    if not records:  # nothing to check or chain (and SQL has no empty IN list)
        return IngestResult(accepted=0, duplicates=0, findings=0, first_findings=[])
    with Session(engine) as session:
        scopes = cache.scopes(session, [r.system for r in records])
        unknown = sorted({r.system for r in records} - set(scopes))
        if unknown:
            raise UnknownSystems(unknown)
        prepared = _prepare(records, scopes)
        result = _append(session, prepared)
        session.commit()
    return result


class UnknownSystems(Exception):
    """Records name systems Threshold does not know."""

    def __init__(self, systems: list[str]) -> None:
        super().__init__(", ".join(systems))
        self.systems = systems


Prepared = tuple[ActionRecord, str, str, tuple[Any, ...], list[Finding]]


def _prepare(records: Sequence[ActionRecord], scopes: dict[str, ActionScope]) -> list[Prepared]:
    """Per record: its key, time, column values without chain fields, and its findings."""
    out: list[Prepared] = []
    seen: set[str] = set()
    for record in records:
        scope = scopes[record.system]
        record = mask_secret_credential(scope, record)  # before the key: no secret id is kept
        key = record_key(record)
        if key in seen:
            continue
        seen.add(key)
        digest, length, content = kept_content(
            record.content, scope.content, record.kind in scope.logged
        )
        at = iso_utc(record.time)
        values = (
            record.environment.value,
            record.kind.value,
            record.tool,
            record.target,
            record.credential_id,
            record.approved_by,
            record.trace_id,
            digest,
            length,
            content,
            record.model,
        )
        out.append((record, key, at, values, check_action(scope, record)))
    return out


def _chain_rows(
    prepared: list[Prepared], heads: dict[str, tuple[int, str]], known: set[str]
) -> tuple[list[tuple[Any, ...]], dict[str, tuple[int, str]]]:
    rows: list[tuple[Any, ...]] = []
    moved: dict[str, tuple[int, str]] = {}
    for record, key, at, values, _ in prepared:
        if key in known:
            continue
        chain = record.system
        seq, prev = moved.get(chain) or heads[chain]
        seq += 1
        partial = (chain, seq, key, at, *values, prev)
        digest = action_hash(prev, [partial[i] for i in _HASHED_AT])
        rows.append((*partial, digest))
        moved[chain] = (seq, digest)
    return rows, moved


def _append(session: Session, prepared: list[Prepared]) -> IngestResult:
    sql = _Sql(session)
    heads = sql.lock_heads(ACTIONS, sorted({p[0].system for p in prepared}))
    insert = f"INSERT INTO actions ({', '.join(ACTION_COLUMNS)}) VALUES ({sql.marks(len(ACTION_COLUMNS))})"
    known: set[str] = set()
    rows, moved = _chain_rows(prepared, heads, known)
    try:
        with sql.conn.begin_nested():
            sql.conn.exec_driver_sql(insert, rows)
    except IntegrityError:  # a re-sent batch: skip the records already in the ledger
        known = _known_keys(sql, [p[1] for p in prepared])
        rows, moved = _chain_rows(prepared, heads, known)
        if rows:
            sql.conn.exec_driver_sql(insert, rows)
    if moved:
        sql.move_heads(ACTIONS, moved)
    fresh = [p for p in prepared if p[1] not in known]
    first = _store_findings(sql, fresh)
    total = sum(len(p[4]) for p in fresh)
    return IngestResult(
        accepted=len(rows), duplicates=len(known), findings=total, first_findings=first
    )


def _known_keys(sql: _Sql, keys: list[str]) -> set[str]:
    known: set[str] = set()
    for part in _chunks(keys):
        query = f"SELECT record_key FROM actions WHERE record_key IN ({sql.marks(len(part))})"
        known.update(str(k) for k in sql.conn.exec_driver_sql(query, tuple(part)).scalars())
    return known


def _store_findings(sql: _Sql, prepared: list[Prepared]) -> list[NewFinding]:
    """Insert the findings; return the first of each kind per system (none stored before)."""
    rows = [
        (r.system, f.code, f.message, f.nhi, key, r.trace_id, r.credential_id, at)
        for r, key, at, _, findings in prepared
        for f in findings
    ]
    if not rows:
        return []
    systems = sorted({row[0] for row in rows})
    query = (
        f"SELECT DISTINCT system_id, code FROM action_findings"
        f" WHERE system_id IN ({sql.marks(len(systems))})"
    )
    known = {(str(s), str(c)) for s, c in sql.conn.exec_driver_sql(query, tuple(systems))}
    sql.conn.exec_driver_sql(
        f"INSERT INTO action_findings ({', '.join(FINDING_COLUMNS)})"
        f" VALUES ({sql.marks(len(FINDING_COLUMNS))})",
        rows,
    )
    fresh = set(first_of_kind(((row[0], row[1]) for row in rows), known))
    first: list[NewFinding] = []
    for row in rows:
        if (row[0], row[1]) in fresh:
            fresh.discard((row[0], row[1]))
            first.append(
                NewFinding(
                    system_id=row[0],
                    code=row[1],
                    message=row[2],
                    nhi=row[3],
                    trace_id=row[5],
                    credential_id=row[6],
                    at=row[7],
                )
            )
    return first


def verify_actions(
    engine: Engine, *, chain_id: str | None = None, parallel_from: int = PARALLEL_MIN_ENTRIES
) -> VerifyReport:
    """Recompute every action chain (or one system's) and report the first broken entry."""
    return verify_action_ledger(engine, chain_id=chain_id, parallel_from=parallel_from)


# ----- trace -------------------------------------------------------------------------------


def trace(
    session: Session,
    *,
    credential_id: str | None = None,
    system_id: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """Every action of a credential or a system (newest `limit` listed) and its blast radius."""
    sql = _Sql(session)
    where, params = ["1 = 1"], []
    if credential_id is not None:
        where.append(f"credential_id = {sql.mark}")
        params.append(credential_id)
    if system_id is not None:
        where.append(f"chain_id = {sql.mark}")
        params.append(system_id)
    if since is not None:
        where.append(f"at >= {sql.mark}")
        params.append(iso_utc(since))
    clause = " AND ".join(where)
    conn = sql.conn
    count, first, last = conn.exec_driver_sql(
        f"SELECT count(*), min(at), max(at) FROM actions WHERE {clause}", tuple(params)
    ).one()

    def distinct(column: str) -> dict[str, int]:
        query = (
            f"SELECT {column}, count(*) FROM actions WHERE {clause} AND {column} IS NOT NULL"
            f" GROUP BY {column} ORDER BY {column}"
        )
        return {str(k): int(n) for k, n in conn.exec_driver_sql(query, tuple(params))}

    columns = ", ".join(c for c in ACTION_COLUMNS if c not in ("prev_hash", "hash", "content"))
    listed = conn.exec_driver_sql(
        f"SELECT id, {columns} FROM actions WHERE {clause} ORDER BY at DESC, id DESC LIMIT {int(limit)}",
        tuple(params),
    ).mappings()
    findings = conn.exec_driver_sql(
        "SELECT code, count(*) FROM action_findings WHERE "
        + clause.replace("chain_id", "system_id")
        + " GROUP BY code ORDER BY code",
        tuple(params),
    )
    return {
        "count": int(count),
        "first": first,
        "last": last,
        "systems": distinct("chain_id"),
        "credentials": distinct("credential_id"),
        "kinds": distinct("kind"),
        "tools": distinct("tool"),
        "targets": distinct("target"),
        "models": distinct("model"),
        "findings": {str(code): int(n) for code, n in findings},
        "actions": [dict(row) for row in listed],
    }
