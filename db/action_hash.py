"""The action ledger's hash rule: one list of hashed fields, for append and for verify.

An entry's hash is `domain.ledger.chain_hash(prev_hash, canonical(fields))` over the fields in
`ACTION_HASHED` order, each as text (NULL as the empty string, integers in decimal). Append
hashes them in Python (`action_hash`); verify has the database join the very same list into the
very same bytes (`action_body_sql`) and hashes those, falling back to `action_hash` over the
stored row whenever the two disagree, so a verdict of "edited" always comes from the Python rule.
SQLite's fast path joins them with one `printf` instead (`action_printf_sql`), trusted only
where the joined bytes are as long as the stored fields (`action_bytes_sql`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.ledger import canonical, chain_hash

ACTION_HASHED = (
    "chain_id",
    "seq",
    "at",
    "credential_id",
    "kind",
    "trace_id",
    "environment",
    "tool",
    "target",
    "approved_by",
    "content_digest",
    "content_length",
    "content",
    "record_key",
)
_SEP = "\x1f"
_NULLABLE = (  # the hashed columns that may hold NULL (migration 0005)
    "credential_id",
    "tool",
    "target",
    "approved_by",
    "content_digest",
    "content_length",
    "content",
)


def action_hash(prev_hash: str, values: Iterable[Any]) -> str:
    """The hash of an action entry from its `ACTION_HASHED` values, in that order."""
    return chain_hash(prev_hash, canonical("" if v is None else str(v) for v in values))


def action_body_sql(dialect: str) -> str:
    """SQL for the bytes `action_hash` hashes: prev_hash then the hashed fields, joined.

    NULL joins as '' (`concat` on PostgreSQL, `coalesce` on SQLite). SQLite joins with `||`, not
    `printf`, which is no faster once NULs are guarded against: it stops a field at a NUL
    character, which would hide text appended after one.
    """
    if dialect == "postgresql":
        return f"convert_to(concat(prev_hash, {', chr(31), '.join(ACTION_HASHED)}), 'UTF8')"
    fields = f" || '{_SEP}' || ".join(f"coalesce({field}, '')" for field in ACTION_HASHED)
    return f"CAST(prev_hash || {fields} AS BLOB)"


def action_printf_sql() -> str:
    """SQLite: the text `action_hash` hashes, in one `printf` (NULL prints as '').

    One call is about three times cheaper than joining with `||`, but `printf` stops a field at
    its first NUL character: trust it only where the printed length adds up to the stored one
    (`action_bytes_sql`).
    """
    pattern = "%s" + _SEP.join("%s" for _ in ACTION_HASHED)
    return f"printf('{pattern}', prev_hash, {', '.join(ACTION_HASHED)})"


def action_bytes_sql(fields: Iterable[str]) -> str:
    """SQLite: the stored byte length of these fields added up, whole (past any NUL)."""
    lengths = (
        f"ifnull(length(CAST({field} AS BLOB)), 0)"
        if field in _NULLABLE
        else f"length(CAST({field} AS BLOB))"
        for field in fields
    )
    return " + ".join(lengths)
