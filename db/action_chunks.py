"""SQLite's fast read of the action ledger: a chunk of entry ids verified from one aggregate row.

Handing SQLite's fields to Python one row at a time costs more than hashing them. So the
database joins every entry's stored fields with one `printf` (`action_printf_sql`) and hands over
a chunk's joined entries, seqs, links, chain ids and hashes as a few long strings, which Python
splits, hashes and links. The fields are read from their columns on every verification: nothing
stored beside them is trusted.

A chunk counts as verified only when nothing about it is in doubt: every string splits into
exactly one piece per entry, the joined bytes are exactly as long as the stored fields (`printf`
stops a field at a NUL character, which would hide text after it), every hash is its entry's
digest and every link and seq follows. Otherwise the caller re-reads the chunk row by row, the
way that names the first broken entry.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from db.action_hash import ACTION_CHAINED, ACTION_HASHED, action_bytes_sql, action_printf_sql

CHUNK_IDS = 500
"""Entry ids per chunk: small enough (about 150 kB of joined fields for typical entries) for the
memory of one chunk to be reused by the next rather than mapped afresh."""
CHUNK_BYTES = 64 << 20
"""The longest string a chunk read may build; a chunk of huge entries is read row by row."""
_LISTED = ("prev_hash", "chain_id", "seq")  # handed over whole, so Python measures them
_MEASURED = tuple(f for f in ACTION_CHAINED if f not in _LISTED)  # the database measures these
_SEPARATORS = len(ACTION_HASHED)  # bytes per entry beyond its fields: 13 joins + 1 between entries
# (an optional field's own separator is measured with it: `action_bytes_sql`)
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
class Chains:
    """What a span has verified so far: entries, and each chain's first and last entry."""

    entries: int = 0
    first: dict[str, tuple[int, str]] = field(default_factory=dict)  # seq, prev_hash
    last: dict[str, tuple[int, str]] = field(default_factory=dict)  # seq, hash

    def ends(self) -> dict[str, tuple[int, str, int, str]]:
        """Each chain's first and last entry in the span."""
        return {chain: (*self.first[chain], *self.last[chain]) for chain in self.last}


def chunk_verified(dbapi: Any, part: tuple[int, int], chains: Chains) -> bool:
    """Verify the entries with ids in `part` (both inclusive) into `chains`; False when in doubt."""
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
    links, ids = (values.split(",") for values in listed[:2])
    if not listed[2].replace(",", "").isdigit():
        return False  # a seq that is not a decimal number
    try:
        seqs = json.loads(f"[{listed[2]}]")  # faster than int() on each piece
    except ValueError:  # a leading zero, an empty piece
        return False
    if not len(bodies) == len(links) == len(ids) == len(seqs) == count:
        return False  # a value held a separator, or was NULL
    digests = _digests(bodies)
    if ",".join(digests) != hashes:  # no hash is NULL, so each digest meets its own hash
        return False
    last = chains.last  # updated only once the whole chunk is verified
    started: dict[str, tuple[int, str]] = {}
    ended: dict[str, tuple[int, str]] = {}
    for chain_id, seq, prev_hash, digest in zip(ids, seqs, links, digests, strict=True):
        before = ended.get(chain_id) or last.get(chain_id)
        if before is None:
            started[chain_id] = (seq, prev_hash)
        elif seq != before[0] + 1 or prev_hash != before[1]:
            return False
        ended[chain_id] = (seq, digest)
    chains.first.update(started)
    last.update(ended)
    chains.entries += count
    return True


def _whole(count: int, measured: int, joined: int, listed: list[str]) -> bool:
    """Whether `printf` printed every field whole: its output is as long as the stored fields.

    The database measures most fields; the listed ones are measured here, as handed over, so
    they must hold no NUL and be ASCII (one byte a character).
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
