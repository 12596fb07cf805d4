"""Fast verification of the hash-chained audit ledger straight off the DBAPI cursor."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from itertools import chain as flatten
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine

from domain.ledger import GENESIS, canonical

BATCH_ROWS = 20_000
SEP = canonical(["", ""]).decode()
SQLITE_MMAP_BYTES = 1 << 30


class BrokenEntry(BaseModel):
    """Where a chain first fails verification and why."""

    model_config = ConfigDict(frozen=True)
    chain_id: str
    seq: int
    entry_id: int | None
    problem: str


class VerifyReport(BaseModel):
    """The outcome of recomputing the ledger's chains."""

    model_config = ConfigDict(frozen=True)
    ok: bool
    entries_checked: int
    chains_checked: int
    first_broken: BrokenEntry | None = None


Found = tuple[str, int, str]
Heads = dict[str, tuple[int, str]]


def _entries_sql(mark: str, *, one_chain: bool) -> str:
    """Select the columns an entry's hash covers, in chain order."""
    where = f" WHERE chain_id = {mark}" if one_chain else ""
    return (
        "SELECT chain_id, seq, at, actor, action, request_id, detail, prev_hash, hash"
        f" FROM audit_entries{where} ORDER BY chain_id, seq"
    )


def verify_ledger(engine: Engine, *, ledger: str, chain_id: str | None = None) -> VerifyReport:
    """Recompute the chains from a consistent snapshot; stop at the first broken entry."""
    dialect = engine.dialect.name
    mark = "%s" if dialect == "postgresql" else "?"
    params: tuple[str, ...] = (chain_id,) if chain_id is not None else ()
    with _snapshot(engine) as dbapi:
        cursor = dbapi.cursor()
        head_sql = f"SELECT chain_id, seq, hash FROM chain_heads WHERE ledger = {mark}"
        head_sql += f" AND chain_id = {mark}" if chain_id is not None else ""
        cursor.execute(head_sql, (ledger, *params))
        heads: Heads = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
        scan = dbapi.cursor(name="threshold_verify") if dialect == "postgresql" else dbapi.cursor()
        scan.execute(_entries_sql(mark, one_chain=chain_id is not None), params)
        rows = flatten.from_iterable(iter(partial(scan.fetchmany, BATCH_ROWS), []))
        entries, chains, found = _scan(rows, heads)
        scan.close()
        found = found or _headless_problem(heads, seen=chains)
        broken = _broken(cursor, mark, found) if found else None
        cursor.close()
    return VerifyReport(
        ok=broken is None, entries_checked=entries, chains_checked=len(chains), first_broken=broken
    )


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Any]:
    """A raw DBAPI connection inside one read-only snapshot transaction."""
    raw = engine.raw_connection()
    dbapi: Any = raw.dbapi_connection
    try:
        if engine.dialect.name == "postgresql":
            dbapi.rollback()
            with dbapi.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        else:
            dbapi.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
            dbapi.execute("BEGIN")
        yield dbapi
    finally:
        dbapi.rollback()
        if engine.dialect.name != "postgresql":
            dbapi.execute("PRAGMA mmap_size=0")
        raw.close()


def _scan(rows: Iterator[Any], heads: Heads) -> tuple[int, set[str], Found | None]:
    """The hot loop: check sequence, links and hashes of rows ordered by chain and seq."""
    sha256, s = hashlib.sha256, SEP
    seen: set[str] = set()
    entries = 0
    chain: str | None = None
    expected, prev = 1, GENESIS
    for chain_id, seq, at, actor, action, request_id, detail, prev_hash, stored in rows:
        if chain_id != chain:
            if chain is not None:
                problem = _head_problem(heads.get(chain), expected - 1, prev)
                if problem:
                    return entries, seen, (chain, expected - 1, problem)
            seen.add(chain_id)
            chain, expected, prev = chain_id, 1, GENESIS
        body = (
            f"{prev}{chain_id}{s}{seq}{s}{at}{s}{actor}{s}{action}{s}{request_id or ''}{s}{detail}"
        )
        if seq != expected or prev_hash != prev or sha256(body.encode()).hexdigest() != stored:
            return entries, seen, (chain_id, seq, _entry_problem(seq, expected, prev_hash, prev))
        prev = stored
        expected += 1
        entries += 1
    if chain is not None:
        problem = _head_problem(heads.get(chain), expected - 1, prev)
        if problem:
            return entries, seen, (chain, expected - 1, problem)
    return entries, seen, None


def _entry_problem(seq: int, expected: int, prev_hash: str, prev: str) -> str:
    """Say why an entry failed."""
    if seq > expected:
        return f"sequence gap: entries {expected}..{seq - 1} missing (deleted)"
    if seq < expected:
        return f"sequence repeats: seq {seq} appears twice"
    if prev_hash != prev:
        if expected == 1:
            return "prev_hash of the first entry is not the genesis hash"
        return "prev_hash does not match the previous entry"
    return "hash mismatch: entry was edited"


def _head_problem(head: tuple[int, str] | None, last_seq: int, last_hash: str) -> str | None:
    """Say why a chain's last entry disagrees with its recorded head, if it does."""
    if head is None:
        return f"no chain head recorded for a chain of {last_seq} entries: head row deleted"
    head_seq, head_hash = head
    if head_seq > last_seq:
        return f"chain head says seq {head_seq} but last entry is {last_seq}: tail deleted"
    if head_seq < last_seq:
        return (
            f"chain head says seq {head_seq} but last entry is {last_seq}: "
            "entries added outside the ledger"
        )
    if head_hash != last_hash:
        return "chain head hash does not match the last entry: the chain was rewritten"
    return None


def _headless_problem(heads: Heads, *, seen: set[str]) -> Found | None:
    """A head whose chain has no entries left at all."""
    for chain_id in sorted(heads):
        head_seq = heads[chain_id][0]
        if chain_id not in seen and head_seq > 0:
            problem = f"chain head says seq {head_seq} but the chain has no entries: all deleted"
            return chain_id, 0, problem
    return None


def _broken(cursor: Any, mark: str, found: Found) -> BrokenEntry:
    """Attach the entry id to a problem found by the scan."""
    chain_id, seq, problem = found
    cursor.execute(
        f"SELECT id FROM audit_entries WHERE chain_id = {mark} AND seq = {mark}", (chain_id, seq)
    )
    row = cursor.fetchone()
    return BrokenEntry(
        chain_id=chain_id, seq=seq, entry_id=row[0] if row else None, problem=problem
    )
