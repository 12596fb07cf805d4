"""Fast verification of the hash-chained ledgers straight off the DBAPI cursor.

Every chain is read to its end or its first problem, so a report names every broken chain.
An audit entry's content is checked against its chained digest unless it was erased; an
erased entry must be named by an erasure entry later in its chain.

The audit ledger is verified here by chain ranges; the action ledger by id spans in
`db.action_verify`, on the same process pool, snapshots and problem wording.
"""

from __future__ import annotations

import atexit
import hashlib
import multiprocessing
import os
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from itertools import chain as flatten
from itertools import pairwise, repeat
from multiprocessing.connection import wait
from typing import Any

from sqlalchemy import Engine

from db.engine import get_engine, placeholder
from db.verify_report import BrokenEntry as BrokenEntry  # re-exported: callers import it here
from db.verify_report import ErasedEntry as ErasedEntry
from db.verify_report import VerifyReport as VerifyReport
from db.verify_report import report as report
from domain.audit import AuditAction
from domain.ledger import DIGEST_PREFIX, GENESIS, entry_hash, erased_seq

BATCH_ROWS = 20_000
_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")
SQLITE_MMAP_BYTES = 1 << 30
ERASED = AuditAction.ledger_entry_erased.value
ERASED_DETAIL = "{}"  # what an erased entry holds in place of its content
UNRECORDED_ERASURE = "content erased without an erasure entry in the ledger"


Found = tuple[str, int, str]
Heads = dict[str, tuple[int, str]]
Bounds = tuple[str | None, str | None]  # chain ids: lo inclusive, hi exclusive; None = open
Pending = tuple[int, str, str | None]  # an erased entry's seq, erased_at, erased_by
RangeResult = tuple[int, int, list[BrokenEntry], list[ErasedEntry]]
AUDIT_COLUMNS = (
    "chain_id, seq, at, actor, action, request_id, detail, content_digest, erased_at, erased_by,"
    " prev_hash, hash"
)

PARALLEL_MIN_ENTRIES = 100_000
"""Below this many entries one process verifies; above it, one process per core shares chains."""

_pool: ProcessPoolExecutor | None = None


def verify_ledger(
    engine: Engine,
    *,
    ledger: str,
    chain_id: str | None = None,
    parallel_from: int = PARALLEL_MIN_ENTRIES,
) -> VerifyReport:
    """Recompute the chains (split across cores); name every broken chain and every erasure."""
    if chain_id is not None:
        results = [_verify_one(engine, ledger, (chain_id, chain_id), exact=True)]
    else:
        parts = _partition(engine, ledger, workers=_workers(), parallel_from=parallel_from)
        if len(parts) == 1:
            results = [_verify_one(engine, ledger, parts[0])]
        else:
            url = engine.url.render_as_string(hide_password=False)
            results = list(_process_pool().map(_verify_range, repeat(url), repeat(ledger), parts))
    return report(
        sum(r[0] for r in results),
        sum(r[1] for r in results),
        [b for r in results for b in r[2]],
        [e for r in results for e in r[3]],
    )


def _workers() -> int:
    """Verifier processes: one per core, at most four."""
    return min(os.cpu_count() or 1, 4)


def _partition(engine: Engine, ledger: str, *, workers: int, parallel_from: int) -> list[Bounds]:
    """Chain-id ranges holding about equal numbers of entries (one range when small)."""
    with engine.connect() as conn:
        heads = conn.exec_driver_sql(
            f"SELECT chain_id, seq FROM chain_heads WHERE ledger = {placeholder(engine.dialect.name)}"
            " ORDER BY chain_id",
            (ledger,),
        ).all()
    total = sum(int(seq) for _, seq in heads)
    if workers < 2 or total < parallel_from:
        return [(None, None)]
    cuts: list[str | None] = [None]
    running, share = 0, total / workers
    for chain, seq in heads:
        if running >= share * len(cuts) and len(cuts) < workers:
            cuts.append(str(chain))
        running += int(seq)
    cuts.append(None)
    return list(pairwise(cuts))


def _process_pool() -> ProcessPoolExecutor:
    """A long-lived pool of verifier processes (spawned once, reused by every verification).

    It ends with the interpreter (`atexit`) or on `shutdown_verifiers`; its processes also end on
    their own as soon as the process that started them is gone, however it went (`os._exit`,
    a signal), so none is ever left behind.
    """
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(
            _workers(),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent,
        )
        atexit.register(shutdown_verifiers)
    return _pool


def shutdown_verifiers() -> None:
    """Stop the verifier processes and wait for them (the next parallel verify starts new ones)."""
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        atexit.unregister(shutdown_verifiers)
        pool.shutdown(wait=True, cancel_futures=True)


def _exit_with_parent() -> None:
    """In a verifier process: watch the parent and exit the moment it is gone."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        watch = threading.Thread(target=_exit_on, args=(parent.sentinel,), daemon=True)
        watch.start()


def _exit_on(sentinel: int) -> None:
    """Block until `sentinel` (the parent's end of a pipe) closes, then leave at once."""
    wait([sentinel])
    os._exit(0)


def _verify_range(url: str, ledger: str, bounds: Bounds) -> RangeResult:
    """Verify one range of chains in a worker process (its own connection and snapshot)."""
    return _verify_one(get_engine(url), ledger, bounds, mapped=True)


def _range_sql(column: str, mark: str, bounds: Bounds, *, exact: bool) -> tuple[str, list[str]]:
    """A WHERE fragment and parameters limiting `column` to a range (or one value)."""
    lo, hi = bounds
    if exact:
        return f" AND {column} = {mark}", [str(lo)]
    sql, params = "", list[str]()
    if lo is not None:
        sql, params = sql + f" AND {column} >= {mark}", [*params, lo]
    if hi is not None:
        sql, params = sql + f" AND {column} < {mark}", [*params, hi]
    return sql, params


def _verify_one(
    engine: Engine, ledger: str, bounds: Bounds, *, exact: bool = False, mapped: bool = False
) -> RangeResult:
    """Verify the chains in `bounds` from one consistent snapshot (heads and entries together)."""
    dialect = engine.dialect.name
    mark = placeholder(dialect)
    where, params = _range_sql("chain_id", mark, bounds, exact=exact)
    with _snapshot(engine, mapped=mapped) as dbapi:
        cursor = dbapi.cursor()
        cursor.execute(
            f"SELECT chain_id, seq, hash FROM chain_heads WHERE ledger = {mark}{where}",
            (ledger, *params),
        )
        heads: Heads = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
        scan = dbapi.cursor(name="threshold_verify") if dialect == "postgresql" else dbapi.cursor()
        query = f"SELECT {AUDIT_COLUMNS} FROM audit_entries WHERE 1 = 1{where}"
        scan.execute(f"{query} ORDER BY chain_id, seq", params)
        scanned = _scan(_rows(scan), heads)
        scan.close()
        found = [*scanned.problems, *_headless_problems(heads, seen=scanned.seen)]
        broken = [_broken(cursor, mark, one, ledger, "audit_entries") for one in found]
        cursor.close()
    erased = [ErasedEntry(ledger=ledger, **fields) for fields in scanned.erased]
    return scanned.entries, len(scanned.seen), broken, erased


@contextmanager
def _snapshot(engine: Engine, shared: str | None = None, *, mapped: bool = False) -> Iterator[Any]:
    """A raw DBAPI connection inside one read-only snapshot transaction (PostgreSQL: `shared`).

    SQLite reads through a memory map for the duration; `mapped` keeps the map afterwards (a
    verifier process's own connections, so the next verification finds the pages mapped).
    """
    raw = engine.raw_connection()
    dbapi: Any = raw.dbapi_connection
    try:
        if engine.dialect.name == "postgresql":
            dbapi.rollback()
            with dbapi.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                if shared is not None:
                    if not _SNAPSHOT_ID.fullmatch(shared):
                        raise ValueError(f"not a PostgreSQL snapshot id: {shared!r}")
                    cursor.execute(f"SET TRANSACTION SNAPSHOT '{shared}'")
        else:
            dbapi.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
            dbapi.execute("BEGIN")
        yield dbapi
    finally:
        dbapi.rollback()
        if engine.dialect.name != "postgresql" and not mapped:
            dbapi.execute("PRAGMA mmap_size=0")
        raw.close()


def _rows(cursor: Any) -> Iterator[Any]:
    """Every row of an executed cursor, fetched in batches."""
    return flatten.from_iterable(iter(partial(cursor.fetchmany, BATCH_ROWS), []))


@dataclass
class _Scanned:
    """What a scan found: entries verified, chains seen, problems, erasures of intact chains."""

    entries: int = 0
    seen: set[str] = field(default_factory=set)
    problems: list[Found] = field(default_factory=list)
    erased: list[dict[str, Any]] = field(default_factory=list)


def _scan(rows: Iterator[Any], heads: Heads) -> _Scanned:
    """The hot loop: check seq, links, hashes and content digests of rows by chain and seq.

    A chain stops being read at its first problem; the next chain is read as usual.
    """
    out = _Scanned()
    seen, problems, sha256 = out.seen, out.problems, hashlib.sha256
    chain: str | None = None
    expected, prev, broken = 1, GENESIS, False
    pending: list[Pending] = []
    claims: dict[int, int] = {}  # erased seq -> seq of the entry recording the erasure
    for (
        chain_id,
        seq,
        at,
        actor,
        action,
        request_id,
        detail,
        digest,
        erased_at,
        by,
        link,
        stored,
    ) in rows:
        if chain_id != chain:
            if chain is not None and not broken:
                _end(out, chain, heads.get(chain), (expected - 1, prev), pending, claims)
            seen.add(chain_id)
            chain, expected, prev, broken = chain_id, 1, GENESIS, False
            pending, claims = [], {}
        elif broken:
            continue
        if digest is None:  # written before migration 0008: chained over the detail itself
            content, edited = detail, detail[:1] != "{"
        elif erased_at is None:
            content = DIGEST_PREFIX + digest
            edited = sha256(detail.encode()).hexdigest() != digest
        else:  # erased: no content is left to check, and none may come back
            content, edited = DIGEST_PREFIX + digest, detail != ERASED_DETAIL
            pending.append((seq, erased_at, by))
        hashed = entry_hash(prev, chain_id, seq, at, actor, action, request_id or "", content)
        if seq != expected or link != prev or hashed != stored:
            problems.append((chain_id, seq, _entry_problem(seq, expected, link, prev)))
            broken = True
            continue
        if edited:
            problems.append((chain_id, seq, "content does not match its digest: entry was edited"))
            broken = True
            continue
        if action == ERASED:
            claims.setdefault(erased_seq(detail) or 0, seq)
        prev = stored
        expected += 1
        out.entries += 1
    if chain is not None and not broken:
        _end(out, chain, heads.get(chain), (expected - 1, prev), pending, claims)
    return out


def _end(
    out: _Scanned,
    chain_id: str,
    head: tuple[int, str] | None,
    last: tuple[int, str],
    pending: list[Pending],
    claims: dict[int, int],
) -> None:
    """At a chain's end: check its head, and that each erasure is recorded later in the chain."""
    problem = _head_problem(head, *last)
    if problem:
        out.problems.append((chain_id, last[0], problem))
        return
    erased = []
    for seq, erased_at, erased_by in pending:
        erasure = claims.get(seq, 0)
        if erasure <= seq:
            out.problems.append((chain_id, seq, UNRECORDED_ERASURE))
            return
        erased.append(
            {
                "chain_id": chain_id,
                "seq": seq,
                "erased_at": erased_at,
                "erased_by": erased_by,
                "erasure_seq": erasure,
            }
        )
    out.erased.extend(erased)


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
    return next(iter(_headless_problems(heads, seen=seen)), None)


def _headless_problems(heads: Heads, *, seen: set[str]) -> list[Found]:
    """Every head whose chain has no entries left at all."""
    found: list[Found] = []
    for chain_id in sorted(heads):
        head_seq = heads[chain_id][0]
        if chain_id not in seen and head_seq > 0:
            problem = f"chain head says seq {head_seq} but the chain has no entries: all deleted"
            found.append((chain_id, 0, problem))
    return found


def _broken(cursor: Any, mark: str, found: Found, ledger: str, table: str) -> BrokenEntry:
    """Attach the entry id to a problem found by the scan."""
    chain_id, seq, problem = found
    cursor.execute(
        f"SELECT id FROM {table} WHERE chain_id = {mark} AND seq = {mark}", (chain_id, seq)
    )
    row = cursor.fetchone()
    return BrokenEntry(
        ledger=ledger,
        chain_id=chain_id,
        seq=seq,
        entry_id=row[0] if row else None,
        problem=problem,
    )
