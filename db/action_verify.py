"""Verification of the action ledger in table order, split by entry id over one process per core.

The action ledger interleaves every system's chain in insertion order, so it is read the way it
is stored: by id (ids rise with seq within a chain, appends to a chain being serialised by its
head lock). The verifier processes take spans of ids (a few each, the next to whoever is free)
and return every chain's first and last entry in each; the parent joins the spans at those ends
and checks the chain heads. Every span reads the
parent's snapshot: PostgreSQL exports it to the workers; on SQLite the spans end at the newest
id the parent saw (SQLite hands out ids in commit order).

On SQLite a span is read in chunks of ids, each from one aggregate row (`db.action_chunks`); a
chunk in any doubt is re-read row by row. Row by row (`_scan_rows`; PostgreSQL, one system's
chain), the database joins each entry's hashed fields into bytes (`action_body_sql`); Python
hashes them, checks each link, and recomputes any entry that does not match with `action_hash`
over the stored row before calling it edited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from functools import partial
from itertools import repeat
from typing import Any

from sqlalchemy import Engine

from db import action_chunks
from db.action_chunks import Chains, chunk_verified
from db.action_hash import ACTION_CHAINED, action_body_sql, action_hash
from db.engine import get_engine, placeholder
from db.verify import (
    PARALLEL_MIN_ENTRIES,
    Found,
    Heads,
    VerifyReport,
    _broken,
    _entry_problem,
    _head_problem,
    _headless_problems,
    _process_pool,
    _rows,
    _snapshot,
    _workers,
    report,
)
from domain.ledger import GENESIS

ACTIONS = "actions"
Span = tuple[int, int]  # entry ids, both inclusive
Ends = dict[str, tuple[int, str, int, str]]  # chain: first seq, its prev_hash, last seq, last hash
SpanResult = tuple[int, Ends, list[Found]]  # entries, intact chains' ends, each broken chain

SPANS_PER_WORKER = 4
"""Spans per verifier process: a process that finishes early takes the next span."""


def verify_action_ledger(
    engine: Engine, *, chain_id: str | None = None, parallel_from: int = PARALLEL_MIN_ENTRIES
) -> VerifyReport:
    """Recompute every action chain (or one system's); stop at the first broken entry."""
    dialect = engine.dialect.name
    mark = placeholder(dialect)
    where, params = ("", []) if chain_id is None else (f" AND chain_id = {mark}", [chain_id])
    with _snapshot(engine) as dbapi:
        cursor = dbapi.cursor()
        cursor.execute(
            f"SELECT chain_id, seq, hash FROM chain_heads WHERE ledger = {mark}{where}",
            (ACTIONS, *params),
        )
        heads: Heads = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
        ends = [f"(SELECT {end}(id) FROM actions WHERE 1 = 1{where})" for end in ("min", "max")]
        cursor.execute(f"SELECT {', '.join(ends)}", [*params, *params])  # each one index seek
        first, last = cursor.fetchone()
        workers = 1 if chain_id is not None else _workers()
        spans = _spans(first, last, workers=workers, parallel_from=parallel_from)
        if len(spans) < 2:
            results = [_scan_span(dbapi, dialect, span, chain_id) for span in spans]
        else:
            shared = _export_snapshot(cursor) if dialect == "postgresql" else None
            url = engine.url.render_as_string(hide_password=False)
            results = list(_process_pool().map(_verify_span, repeat(url), repeat(shared), spans))
        entries, chains, found = _join(results, heads)
        broken = [_broken(cursor, mark, one, ACTIONS, "actions") for one in found]
        cursor.close()
    return report(entries, chains, broken, [])


def _spans(first: int | None, last: int | None, *, workers: int, parallel_from: int) -> list[Span]:
    """Equal spans of ids, a few per worker (one when the ledger is small, none when it is empty)."""
    if first is None or last is None:
        return []
    count = last - first + 1
    if workers < 2 or count < parallel_from:
        return [(first, last)]
    size = -(-count // (workers * SPANS_PER_WORKER))
    return [(lo, min(lo + size - 1, last)) for lo in range(first, last + 1, size)]


def _export_snapshot(cursor: Any) -> str:
    """The id of this PostgreSQL transaction's snapshot, for the workers to read the same data."""
    cursor.execute("SELECT pg_export_snapshot()")
    return str(cursor.fetchone()[0])


def _verify_span(url: str, shared: str | None, span: Span) -> SpanResult:
    """Verify one span of ids in a worker process, inside the parent's snapshot."""
    engine = get_engine(url)
    with _snapshot(engine, shared, mapped=True) as dbapi:
        return _scan_span(dbapi, engine.dialect.name, span, None)


def _scan_span(dbapi: Any, dialect: str, span: Span, chain_id: str | None) -> SpanResult:
    """Verify a span in id order: by chunks on SQLite, row by row otherwise (or when in doubt).

    A chain is read up to its first problem; once any chain is broken, the chunks after it are
    read row by row, skipping that chain (a broken ledger is slower to read, not less read).
    """
    chains, found = Chains(), list[Found]()
    if dialect != "sqlite" or chain_id is not None:
        found = _scan_rows(dbapi, dialect, span, chain_id, chains)
        return chains.entries, _intact_ends(chains, found), found
    step = action_chunks.CHUNK_IDS
    for lo in range(span[0], span[1] + 1, step):
        part = (lo, min(lo + step - 1, span[1]))
        if not found and chunk_verified(dbapi, part, chains):
            continue
        found += _scan_rows(dbapi, dialect, part, None, chains, {f[0] for f in found})
    return chains.entries, _intact_ends(chains, found), found


def _intact_ends(chains: Chains, found: list[Found]) -> Ends:
    """The first and last entry of each chain the span found no problem in."""
    broken = {f[0] for f in found}
    return {chain: ends for chain, ends in chains.ends().items() if chain not in broken}


def _scan_rows(
    dbapi: Any,
    dialect: str,
    span: Span,
    chain_id: str | None,
    chains: Chains,
    broken: set[str] | None = None,
) -> list[Found]:
    """Read a span in id order, each entry's hashed bytes joined by the database, and check it
    (the chains in `broken` are skipped); the first problem of each chain newly broken."""
    mark = placeholder(dialect)
    where, params = f"id >= {mark} AND id <= {mark}", list[Any](span)
    if chain_id is not None:
        where, params = f"{where} AND chain_id = {mark}", [*params, chain_id]
    scan = dbapi.cursor(name="threshold_verify") if dialect == "postgresql" else dbapi.cursor()
    scan.execute(
        f"SELECT id, chain_id, seq, {action_body_sql(dialect)}, prev_hash, hash FROM actions"
        f" WHERE {where} ORDER BY id",
        params,
    )
    found = _check(_rows(scan), partial(_rehash, dbapi, mark), chains, set(broken or ()))
    scan.close()
    return found


def _check(
    rows: Iterator[Any], rehash: Callable[[int, str], bool], chains: Chains, broken: set[str]
) -> list[Found]:
    """The row-by-row loop: hash each entry's bytes, check its link and seq within the span.

    A chain's first problem is reported and the rest of that chain is skipped (`broken`).
    """
    sha256 = hashlib.sha256().copy  # copying an empty hash is cheaper than making a new one
    first, last = chains.first, chains.last
    found: list[Found] = []
    for entry_id, chain_id, seq, body, prev_hash, stored in rows:
        if broken and chain_id in broken:
            continue
        before = last.get(chain_id)
        if before is None:
            first[chain_id] = (seq, prev_hash)
        elif seq != before[0] + 1 or prev_hash != before[1]:
            found.append((chain_id, seq, _entry_problem(seq, before[0] + 1, prev_hash, before[1])))
            broken.add(chain_id)
            continue
        digest = sha256()
        digest.update(body)
        if digest.hexdigest() != stored and not rehash(entry_id, stored):
            found.append((chain_id, seq, "hash mismatch: entry was edited"))
            broken.add(chain_id)
            continue
        last[chain_id] = (seq, stored)
        chains.entries += 1
    return found


def _rehash(dbapi: Any, mark: str, entry_id: int, stored: str) -> bool:
    """Whether `action_hash` over the stored row gives its stored hash (the rule has the last word)."""
    cursor = dbapi.cursor()
    cursor.execute(
        f"SELECT prev_hash, {', '.join(ACTION_CHAINED)} FROM actions WHERE id = {mark}", (entry_id,)
    )
    row = cursor.fetchone()
    cursor.close()
    return row is not None and action_hash(row[0], row[1:]) == stored


def _join(results: list[SpanResult], heads: Heads) -> tuple[int, int, list[Found]]:
    """Link the spans at each chain's ends, in id order, then check every intact chain's head.

    A span past a chain's first problem does not know of it, so split verification also counts
    the later entries of a broken chain that hold within their own span.
    """
    last: dict[str, tuple[int, str]] = {}
    problems: list[Found] = []
    broken: set[str] = set()
    entries = 0
    for count, ends, found in results:
        entries += count
        for chain_id, (first_seq, first_prev, last_seq, last_hash) in ends.items():
            if chain_id in broken:
                continue
            seq, prev = last.get(chain_id, (0, GENESIS))
            if first_seq != seq + 1 or first_prev != prev:
                why = _entry_problem(first_seq, seq + 1, first_prev, prev)
                problems.append((chain_id, first_seq, why))
                broken.add(chain_id)
                continue
            last[chain_id] = (last_seq, last_hash)
        for one in found:
            if one[0] not in broken:
                problems.append(one)
                broken.add(one[0])
    seen = set(last) | broken
    for chain_id in sorted(set(last) - broken):
        problem = _head_problem(heads.get(chain_id), *last[chain_id])
        if problem:
            problems.append((chain_id, last[chain_id][0], problem))
    problems += _headless_problems(heads, seen=seen)
    return entries, len(seen), problems
