"""Hash chaining for the append-only ledgers: one canonical form, one hash rule."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

GENESIS = "0" * 64
_SEP = "\x1f"


def canonical(fields: Iterable[str]) -> bytes:
    """Join an entry's fields into the exact bytes that are hashed."""
    return _SEP.join(fields).encode()


def chain_hash(prev_hash: str, body: bytes) -> str:
    """SHA-256 over the previous entry's hash and this entry's canonical bytes."""
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()


def entry_hash(
    prev_hash: str,
    chain_id: str,
    seq: int,
    at: str,
    actor: str,
    action: str,
    request_id: str,
    detail: str,
) -> str:
    """`chain_hash(prev_hash, canonical(fields))` for one ledger entry, in one pass.

    The append and verify hot paths call this; it is the same rule, without the list and the
    two encodes (`test_domain_ledger` holds the two spellings together).
    """
    s = _SEP
    body = f"{prev_hash}{chain_id}{s}{seq}{s}{at}{s}{actor}{s}{action}{s}{request_id}{s}{detail}"
    return hashlib.sha256(body.encode()).hexdigest()
