"""Signed checkpoints of the ledgers' chain heads: what was signed, and what a check finds.

A checkpoint lists every chain's head (ledger, chain, seq, hash) at one moment and is signed
(Ed25519) over `signed_bytes`, its canonical JSON without the signature. Later, each listed
entry must still be in its chain with the same hash: a chain edited and re-hashed from some
entry on (a full rewrite, which plain verification cannot see) no longer has the signed hash at
the signed seq. Pure: signing and key handling live in `core.signing`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FORMAT: Literal["threshold.ledger-checkpoint/1"] = "threshold.ledger-checkpoint/1"
HeadKey = tuple[str, str, int]  # ledger, chain id, seq


class ChainHead(BaseModel):
    """One chain's last entry when the checkpoint was made."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    ledger: str = Field(min_length=1, max_length=40)
    chain_id: str = Field(min_length=1, max_length=500)
    seq: int = Field(ge=1, le=2**62)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")


class Checkpoint(BaseModel):
    """Chain heads at one moment, signed by the key `key_id` names."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    format: Literal["threshold.ledger-checkpoint/1"] = FORMAT
    created_at: str = Field(max_length=40, description="ISO-8601 UTC")
    created_by: str = Field(max_length=320)
    chains: int = Field(ge=0)
    entries: int = Field(ge=0, description="sum of the heads' seqs: entries the heads cover")
    heads: list[ChainHead] = Field(max_length=1_000_000)
    algorithm: Literal["Ed25519"] = "Ed25519"
    key_id: str = Field(max_length=100, description="ed25519: + SHA-256 prefix of the public key")
    public_key: str = Field(max_length=100, description="raw Ed25519 public key, base64")
    signature: str = Field(default="", max_length=200, description="base64, over signed_bytes")


class HeadProblem(BaseModel):
    """A signed head the ledger no longer holds as signed."""

    model_config = ConfigDict(frozen=True)
    ledger: str
    chain_id: str
    seq: int
    problem: str


def unsigned_checkpoint(
    heads: list[ChainHead], *, at: str, by: str, key_id: str, public_key: str
) -> Checkpoint:
    """A checkpoint over `heads` (sorted), ready to be signed."""
    ordered = sorted(heads, key=lambda h: (h.ledger, h.chain_id))
    return Checkpoint(
        created_at=at,
        created_by=by,
        chains=len(ordered),
        entries=sum(h.seq for h in ordered),
        heads=ordered,
        key_id=key_id,
        public_key=public_key,
    )


def signed_bytes(checkpoint: Checkpoint) -> bytes:
    """The exact bytes the signature covers: canonical JSON of everything but the signature."""
    body = checkpoint.model_dump(mode="json", exclude={"signature"})
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def head_problems(heads: list[ChainHead], found: Mapping[HeadKey, str]) -> list[HeadProblem]:
    """Each signed head whose entry is gone or hashes differently now (`found`: hash by key)."""
    problems: list[HeadProblem] = []
    for head in heads:
        now = found.get((head.ledger, head.chain_id, head.seq))
        if now == head.hash:
            continue
        problem = (
            f"entry {head.seq} is gone: the chain was cut back below the checkpoint"
            if now is None
            else f"entry {head.seq} hashes differently than when it was signed: "
            "the chain was rewritten after the checkpoint"
        )
        problems.append(
            HeadProblem(ledger=head.ledger, chain_id=head.chain_id, seq=head.seq, problem=problem)
        )
    return problems
