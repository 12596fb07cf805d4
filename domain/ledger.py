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
