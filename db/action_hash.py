"""The action ledger's hash rule: one list of hashed fields, for append and for verify.

An entry's hash is `domain.ledger.chain_hash(prev_hash, canonical(fields))` over the fields in
`ACTION_HASHED` order, each as text (NULL as the empty string, integers in decimal). Append
hashes them in Python (`action_hash`); verify has the database join the very same list into the
very same bytes (`action_body_sql`) and hashes those, falling back to `action_hash` over the
stored row whenever the two disagree, so a verdict of "edited" always comes from the Python rule.
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
