"""Verification of the action ledger in table order, split by entry id over one process per core.

The action ledger interleaves every system's chain in insertion order, so it is read the way it
is stored: by id (ids rise with seq within a chain, appends to a chain being serialised by its
head lock). Each process takes one span of ids and returns every chain's first and last entry in
it; the parent joins the spans at those ends and checks the chain heads. Every span reads the
parent's snapshot: PostgreSQL exports it to the workers; on SQLite the spans end at the newest
id the parent saw (SQLite hands out ids in commit order).

Row by row (`_scan_rows`, PostgreSQL and one system's chain), the database joins each entry's
hashed fields into bytes (`action_body_sql`); Python hashes them, checks each link, and
recomputes any entry that does not match with `action_hash` over the stored row before calling it
edited. On SQLite a span is read in chunks of ids instead, one aggregate row per chunk
(`_chunk_verified`): the database joins every entry's stored fields with one `printf` and hands
over the chunk's joined entries, chain ids, seqs, links and hashes as a few long strings, which
Python splits, hashes and links. A chunk counts as verified only when every string splits into
exactly one piece per entry and the joined bytes are exactly as long as the stored fields (no
field cut short at a NUL); anything else re-reads that chunk row by row, which names the first
broken entry exactly as before.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from typing import Any

from sqlalchemy import Engine

from db.action_hash import (
    ACTION_HASHED,
    action_body_sql,
    action_bytes_sql,
    action_hash,
    action_printf_sql,
)
from db.engine import get_engine, placeholder
from db.verify import (
    PARALLEL_MIN_ENTRIES,
    Found,
    Heads,
    VerifyReport,
    _broken,
    _entry_problem,
    _head_problem,
    _headless_problem,
    _process_pool,
    _rows,
    _snapshot,
    _workers,
)
from domain.ledger import GENESIS

ACTIONS = "actions"
Span = tuple[int, int]  # entry ids, both inclusive
Ends = dict[str, tuple[int, str, int, str]]  # chain: first seq, its prev_hash, last seq, last hash
SpanResult = tuple[int, Ends, Found | None]  # entries, chain ends, first problem in the span

SPANS_PER_WORKER = 4
"""Spans per verifier process: a process that finishes early takes the next span."""
CHUNK_IDS = 500
"""Entry ids per aggregate read on SQLite: small enough (about 150 kB of joined fields for typical
entries) for the memory of one chunk to be reused by the next rather than mapped afresh."""
CHUNK_BYTES = 64 << 20
"""The longest string a chunk read may build; a chunk of huge entries is read row by row."""
_LISTED = ("prev_hash", "chain_id", "seq")  # handed over whole, so Python measures them
_MEASURED = tuple(f for f in ACTION_HASHED if f not in _LISTED)  # the database measures these
_SEPARATORS = len(ACTION_HASHED)  # bytes per entry beyond its fields: 13 joins + 1 between entries
_CHUNK_SQL = (
    f"SELECT count(*), count(hash), sum({action_bytes_sql(_MEASURED)}),"
    f" CAST(group_concat({action_printf_sql()}, x'ff') AS BLOB),"
    " group_concat(prev_hash), group_concat(chain_id), group_concat(seq), group_concat(hash)"
    " FROM actions NOT INDEXED WHERE id >= ? AND id <= ?"
)
"""One chunk in id order (NOT INDEXED: a rowid range scan, so aggregates see rows by id).

Entries are joined by x'ff', which UTF-8 text never holds, the other values by ',' (group_concat's
default), which hashes, system ids and seqs never hold: each splits into exactly one piece per
entry unless a value was tampered with (or NULL), and then the count shows it.
"""


@dataclass
class _Chains:
    """What a span has verified so far: entries, and each chain's first and last entry."""

    entries: int = 0
    first: dict[str, tuple[int, str]] = field(default_factory=dict)
    last: dict[str, tuple[int, str]] = field(default_factory=dict)

    def copy(self) -> _Chains:
        """A copy to go back to if a chunk has to be re-read row by row."""
        return _Chains(self.entries, dict(self.first), dict(self.last))

    def ends(self) -> Ends:
        """Each chain's first and last entry in the span."""
        return {chain: (*self.first[chain], *self.last[chain]) for chain in self.last}


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
        broken = _broken(cursor, mark, found, ACTIONS, "actions") if found else None
        cursor.close()
    return VerifyReport(
        ok=broken is None, entries_checked=entries, chains_checked=chains, first_broken=broken
    )


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
    """Verify a span in id order: by chunks on SQLite, row by row otherwise (or when in doubt)."""
    chains = _Chains()
    if dialect != "sqlite" or chain_id is not None:
        found = _scan_rows(dbapi, dialect, span, chain_id, chains)
        return chains.entries, chains.ends(), found
    for lo in range(span[0], span[1] + 1, CHUNK_IDS):
        part = (lo, min(lo + CHUNK_IDS - 1, span[1]))
        before = chains.copy()
        if _chunk_verified(dbapi, part, chains):
            continue
        chains = before
        found = _scan_rows(dbapi, dialect, part, None, chains)
        if found is not None:
            return chains.entries, chains.ends(), found
    return chains.entries, chains.ends(), None


def _chunk_verified(dbapi: Any, part: Span, chains: _Chains) -> bool:
    """Verify a chunk of ids from one aggregate row; False (chains half-updated) when in doubt."""
    try:
        previous = dbapi.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, CHUNK_BYTES)
        try:
            row = dbapi.execute(_CHUNK_SQL, part).fetchone()
        finally:
            dbapi.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, previous)
    except sqlite3.Error:  # a string over CHUNK_BYTES, text that is not UTF-8, ...
        return False
    count, hashed, measured, joined, *listed, hashes = row
    if not count:
        return True
    if hashed != count or measured is None or not _whole(count, measured, len(joined), listed):
        return False
    bodies = joined.split(b"\xff")
    links, ids, numbers = (values.split(",") for values in listed)
    if not len(bodies) == len(links) == len(ids) == len(numbers) == count:
        return False  # a value held a separator, or was NULL
    digests = _digests(bodies)
    if ",".join(digests) != hashes:  # no hash is NULL, so each digest meets its own hash
        return False
    try:
        seqs = list(map(int, numbers))
    except ValueError:
        return False
    first, last = chains.first, chains.last
    for chain_id, seq, prev_hash, digest in zip(ids, seqs, links, digests, strict=True):
        before = last.get(chain_id)
        if before is None:
            first[chain_id] = (seq, prev_hash)
        elif seq != before[0] + 1 or prev_hash != before[1]:
            return False
        last[chain_id] = (seq, digest)
    chains.entries += count
    return True


def _whole(count: int, measured: int, joined: int, listed: list[str]) -> bool:
    """Whether `printf` printed every field whole: its output is as long as the stored fields.

    `printf` prints a field up to its first NUL; the listed fields are taken as handed over, so
    they must hold no NUL and be ASCII (one byte a character) to be measured in Python.
    """
    if not all(values.isascii() and "\x00" not in values for values in listed):
        return False
    listed_bytes = sum(len(values) for values in listed) - len(listed) * (count - 1)
    return joined == measured + listed_bytes + _SEPARATORS * count - 1


def _digests(bodies: list[bytes]) -> list[str]:
    """The SHA-256 hex digest of each entry's bytes."""
    empty = hashlib.sha256().copy  # copying an empty hash is cheaper than making a new one
    out: list[str] = []
    append = out.append
    for body in bodies:
        digest = empty()
        digest.update(body)
        append(digest.hexdigest())
    return out


def _scan_rows(
    dbapi: Any, dialect: str, span: Span, chain_id: str | None, chains: _Chains
) -> Found | None:
    """Read a span in id order, each entry's hashed bytes joined by the database, and check it."""
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
    found = _check(_rows(scan), partial(_rehash, dbapi, mark), chains)
    scan.close()
    return found


def _check(
    rows: Iterator[Any], rehash: Callable[[int, str], bool], chains: _Chains
) -> Found | None:
    """The row-by-row loop: hash each entry's bytes, check its link and seq within the span."""
    sha256 = hashlib.sha256().copy  # copying an empty hash is cheaper than making a new one
    first, last = chains.first, chains.last
    for entry_id, chain_id, seq, body, prev_hash, stored in rows:
        before = last.get(chain_id)
        if before is None:
            first[chain_id] = (seq, prev_hash)
        elif seq != before[0] + 1 or prev_hash != before[1]:
            return chain_id, seq, _entry_problem(seq, before[0] + 1, prev_hash, before[1])
        digest = sha256()
        digest.update(body)
        if digest.hexdigest() != stored and not rehash(entry_id, stored):
            return chain_id, seq, "hash mismatch: entry was edited"
        last[chain_id] = (seq, stored)
        chains.entries += 1
    return None


def _rehash(dbapi: Any, mark: str, entry_id: int, stored: str) -> bool:
    """Whether `action_hash` over the stored row gives its stored hash (the rule has the last word)."""
    cursor = dbapi.cursor()
    cursor.execute(
        f"SELECT prev_hash, {', '.join(ACTION_HASHED)} FROM actions WHERE id = {mark}", (entry_id,)
    )
    row = cursor.fetchone()
    cursor.close()
    return row is not None and action_hash(row[0], row[1:]) == stored


def _join(results: list[SpanResult], heads: Heads) -> tuple[int, int, Found | None]:
    """Link the spans at each chain's ends, in id order, then check every chain's head."""
    last: dict[str, tuple[int, str]] = {}
    entries = 0
    for count, ends, found in results:
        entries += count
        for chain_id, (first_seq, first_prev, last_seq, last_hash) in ends.items():
            seq, prev = last.get(chain_id, (0, GENESIS))
            if first_seq != seq + 1 or first_prev != prev:
                why = _entry_problem(first_seq, seq + 1, first_prev, prev)
                return entries, len(last), (chain_id, first_seq, why)
            last[chain_id] = (last_seq, last_hash)
        if found is not None:
            return entries, len(last), found
    for chain_id in sorted(last):
        problem = _head_problem(heads.get(chain_id), *last[chain_id])
        if problem:
            return entries, len(last), (chain_id, last[chain_id][0], problem)
    return entries, len(last), _headless_problem(heads, seen=set(last))
