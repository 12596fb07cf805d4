"""Ledger verification as the API reports it: both ledgers, erasures, and signed checkpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from api.metrics import VERIFY_SECONDS
from core.signing import CheckpointSigner
from db.actions import verify_actions
from db.checkpoints import current_heads, hashes_at
from db.evidence import export_pack
from db.ledger import iso_utc, verify_chains
from db.tables import utcnow
from db.verify import VerifyReport
from domain.checkpoints import ChainHead, Checkpoint, head_problems, unsigned_checkpoint
from domain.errors import Conflict, Problem
from domain.evidence import EvidencePack


def verify_report(engine: Engine, *, system: str | None) -> dict[str, Any]:
    """Recompute both ledgers' chains (or one system's): every broken chain, every erasure."""
    with VERIFY_SECONDS.labels("audit").time():
        audit = verify_chains(engine, chain_id=system)
    with VERIFY_SECONDS.labels("actions").time():
        actions = verify_actions(engine, chain_id=system)
    return combined(audit, actions)


def combined(audit: VerifyReport, actions: VerifyReport) -> dict[str, Any]:
    """One report over both ledgers (`first_broken` is the first of `broken`)."""
    broken = [b.model_dump(mode="json") for b in (*audit.broken, *actions.broken)]
    erased = [e.model_dump(mode="json") for e in (*audit.erased, *actions.erased)]
    return {
        "ok": audit.ok and actions.ok,
        "entries_checked": audit.entries_checked + actions.entries_checked,
        "chains_checked": audit.chains_checked + actions.chains_checked,
        "first_broken": broken[0] if broken else None,
        "broken": broken,
        "entries_erased": len(erased),
        "erased": erased,
        "ledgers": {
            "audit": audit.model_dump(mode="json"),
            "actions": actions.model_dump(mode="json"),
        },
    }


def make_checkpoint(
    engine: Engine,
    signer: CheckpointSigner,
    *,
    by: str,
    chain_ids: list[str] | None = None,
    heads: list[ChainHead] | None = None,
) -> Checkpoint:
    """A signed checkpoint of `heads`, by default every chain head now (or `chain_ids`')."""
    if heads is None:
        heads = current_heads(engine, chain_ids=chain_ids)
    unsigned = unsigned_checkpoint(
        heads,
        at=iso_utc(utcnow()),
        by=by,
        key_id=signer.key_id,
        public_key=signer.public_key,
    )
    return signer.sign(unsigned)


def verified_checkpoint(engine: Engine, signer: CheckpointSigner, *, by: str) -> Checkpoint:
    """Sign the heads read before a full verification, once it passed and they still hold.

    Reading the heads first means every signed entry was verified, even when entries are
    appended meanwhile; a change to them meanwhile is refused like a broken chain.
    """
    heads = current_heads(engine)
    report = verify_report(engine, system=None)
    problems = [
        Problem(f"{b['ledger']}.{b['chain_id']}", f"seq {b['seq']}: {b['problem']}")
        for b in report["broken"]
    ]
    problems += [
        Problem(f"{p.ledger}.{p.chain_id}", f"seq {p.seq}: {p.problem}")
        for p in head_problems(heads, hashes_at(engine, heads))
    ]
    if problems:
        raise Conflict("the ledgers do not verify, so their heads are not signed", problems)
    return make_checkpoint(engine, signer, by=by, heads=heads)


def check_checkpoint(
    engine: Engine, signer: CheckpointSigner, checkpoint: Checkpoint, *, system: str | None
) -> dict[str, Any]:
    """The signature (refused when altered), then whether each signed head is still as signed."""
    signer.check(checkpoint)
    heads = [h for h in checkpoint.heads if system is None or h.chain_id == system]
    problems = head_problems(heads, hashes_at(engine, heads))
    return {
        "ok": not problems,
        "key_id": checkpoint.key_id,
        "created_at": checkpoint.created_at,
        "created_by": checkpoint.created_by,
        "heads_checked": len(heads),
        "problems": [p.model_dump(mode="json") for p in problems],
    }


def signed_pack(
    engine: Engine,
    signer: CheckpointSigner | None,
    *,
    system_id: str | None,
    by: str,
    since: datetime | None = None,
) -> EvidencePack:
    """The evidence pack, carrying a checkpoint of the chain heads it covers signed now."""
    pack = export_pack(engine, system_id=system_id, by=by, since=since)
    if signer is None:
        return pack
    chains = None if system_id is None else [system_id]
    signed = make_checkpoint(engine, signer, by=by, chain_ids=chains)
    return pack.model_copy(update={"checkpoint": signed})
