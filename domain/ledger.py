"""Hash chaining for the append-only ledgers: one canonical form, one hash rule.

An audit entry's hash covers its chain, seq, time, actor, action, request and, in the content
position, the SHA-256 digest of its detail (`hashed_content`): the detail is kept beside the
chain, checked against the digest, and can be erased while the chain still verifies.
"""

from __future__ import annotations

import hashlib
import json
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


DIGEST_PREFIX = "sha256:"


def content_digest(detail: str) -> str:
    """SHA-256 (hex) of an entry's stored content, the text its hash covers from 0008 on."""
    return hashlib.sha256(detail.encode()).hexdigest()


def hashed_content(detail: str, digest: str | None) -> str:
    """What an entry's hash covers in the content position: its digest, or (legacy) the text.

    Entries written before migration 0008 have no digest and were chained over their detail,
    always a JSON object ('{' first); a digest is hashed as 'sha256:<hex>', so the two rules
    never hash the same bytes and no entry can be moved from one rule to the other.
    """
    return detail if digest is None else DIGEST_PREFIX + digest


def erasure_key(chain_id: str, seq: int) -> str:
    """The event key of the entry that records the erasure of entry `seq` of `chain_id`."""
    return f"ledger-erasure:{chain_id}:{seq}"


def erasure_detail(seq: int, digest: str, reason: str) -> dict[str, object]:
    """The content of an erasure entry: which entry, the digest it keeps, and why."""
    return {"erased_seq": seq, "content_digest": digest, "reason": reason}


def erased_seq(detail: str) -> int | None:
    """The seq an erasure entry's stored detail names (None when it names none)."""
    try:
        value = json.loads(detail).get("erased_seq")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
