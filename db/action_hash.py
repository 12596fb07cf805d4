"""The action ledger's hash rule: one list of hashed fields, for append and for verify.

An entry's hash is `domain.ledger.chain_hash(prev_hash, canonical(fields))` over the fields in
`ACTION_HASHED` order, each as text (NULL as the empty string, integers in decimal), then each
`ACTION_OPTIONAL` field that is not NULL (`model`, migration 0013): an entry without one hashes
exactly as every entry did before that column existed, so older entries still verify. Append
hashes them in Python (`action_hash`); verify has the database join the very same list into the
very same bytes (`action_body_sql`) and hashes those, falling back to `action_hash` over the
stored row whenever the two disagree, so a verdict of "edited" always comes from the Python rule.
SQLite's fast path joins them with one `printf` instead (`action_printf_sql`), trusted only
where the joined bytes are as long as the stored fields (`action_bytes_sql`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
ACTION_OPTIONAL = ("model",)
"""Hashed after `ACTION_HASHED`, each as ␟ and its text, only when not NULL."""
ACTION_CHAINED = ACTION_HASHED + ACTION_OPTIONAL
"""Every field an entry's hash covers, in the order `action_hash` takes their values."""
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


def action_hash(prev_hash: str, values: Sequence[Any]) -> str:
    """The hash of an action entry from its `ACTION_CHAINED` values, in that order."""
    fixed = len(ACTION_HASHED)
    texts = ["" if v is None else str(v) for v in values[:fixed]]
    texts += [str(v) for v in values[fixed:] if v is not None]
    return chain_hash(prev_hash, canonical(texts))


def action_body_sql(dialect: str) -> str:
    """SQL for the bytes `action_hash` hashes: prev_hash then the hashed fields, joined.

    NULL joins as '' (`concat` on PostgreSQL, `coalesce` on SQLite). SQLite joins with `||`, not
    `printf`, which is no faster once NULs are guarded against: it stops a field at a NUL
    character, which would hide text appended after one. An optional field joins as ␟ and its
    text, a NULL one as nothing (␟ joined to NULL is NULL).
    """
    if dialect == "postgresql":
        optional = "".join(f", chr(31) || {field}" for field in ACTION_OPTIONAL)
        joined = ", chr(31), ".join(ACTION_HASHED)
        return f"convert_to(concat(prev_hash, {joined}{optional}), 'UTF8')"
    fields = f" || '{_SEP}' || ".join(f"coalesce({field}, '')" for field in ACTION_HASHED)
    optional = "".join(f" || coalesce('{_SEP}' || {field}, '')" for field in ACTION_OPTIONAL)
    return f"CAST(prev_hash || {fields}{optional} AS BLOB)"


def action_printf_sql() -> str:
    """SQLite: the text `action_hash` hashes, in one `printf` (NULL prints as '').

    One call is about three times cheaper than joining with `||`, but `printf` stops a field at
    its first NUL character: trust it only where the printed length adds up to the stored one
    (`action_bytes_sql`).
    """
    pattern = "%s" + _SEP.join("%s" for _ in ACTION_HASHED) + "%s" * len(ACTION_OPTIONAL)
    optional = "".join(f", '{_SEP}' || {field}" for field in ACTION_OPTIONAL)
    return f"printf('{pattern}', prev_hash, {', '.join(ACTION_HASHED)}{optional})"


def action_bytes_sql(fields: Iterable[str]) -> str:
    """SQLite: the stored byte length of these fields added up, whole (past any NUL).

    An optional field counts its separator too (one byte more when not NULL, as it is joined).
    """
    lengths = (
        f"ifnull(length(CAST({field} AS BLOB)) + 1, 0)"
        if field in ACTION_OPTIONAL
        else f"ifnull(length(CAST({field} AS BLOB)), 0)"
        if field in _NULLABLE
        else f"length(CAST({field} AS BLOB))"
        for field in fields
    )
    return " + ".join(lengths)
