"""Erase one audit entry's content: the chain keeps its digest, a new entry records why.

The entry's hash covers the SHA-256 of its content, not the content (`domain.ledger`), so
replacing the content leaves every hash as it was. The erasure is itself appended to the same
chain (who, when, why, which entry, the digest kept) in the same transaction, and verification
accepts an erased entry only when such an entry follows it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine
from sqlmodel import Session

from db.ledger import _Sql, append_events, iso_utc
from db.verify import ERASED_DETAIL
from domain.audit import AuditAction
from domain.contracts import AuditEvent
from domain.errors import Conflict, NotFound, Problem
from domain.ledger import erasure_detail, erasure_key


class Erasure(BaseModel):
    """One erased entry and the ledger entry recording its erasure."""

    model_config = ConfigDict(frozen=True)
    chain_id: str
    seq: int
    content_digest: str
    erased_at: str
    erased_by: str
    reason: str
    erasure_seq: int
    erasure_hash: str


def erase_entry(
    engine: Engine, *, chain_id: str, seq: int, by: str, reason: str, at: datetime
) -> Erasure:
    """Erase entry `seq` of `chain_id` and record it; a repeat by the same person and reason
    answers the recorded erasure (a retried request), anything else already erased is a 409."""
    with Session(engine) as session:
        sql = _Sql(session)
        sql.lock_heads("audit", [chain_id])
        row = _entry(sql, chain_id, seq)
        recorded = _recorded(sql, chain_id, seq)
        if recorded is not None:
            if (recorded.erased_by, recorded.reason) == (by, reason):
                return recorded
            raise Conflict(
                f"entry {seq} of {chain_id} was already erased by {recorded.erased_by} at "
                f"{recorded.erased_at} (erasure entry {recorded.erasure_seq})",
                [Problem("seq", "nothing is left to erase; see `threshold audit verify`")],
            )
        _check_erasable(row, chain_id, seq)
        event = AuditEvent(
            event_key=erasure_key(chain_id, seq),
            system_id=chain_id,
            at=at,
            actor=by,
            action=AuditAction.ledger_entry_erased,
            detail=erasure_detail(seq, row["content_digest"], reason),
        )
        append_events(session, events=[event])
        sql.conn.exec_driver_sql(
            f"UPDATE audit_entries SET detail = {sql.mark}, erased_at = {sql.mark},"
            f" erased_by = {sql.mark}, erase_reason = {sql.mark} WHERE id = {sql.mark}",
            (ERASED_DETAIL, iso_utc(at), by, reason, row["id"]),
        )
        erasure = _recorded(sql, chain_id, seq)
        session.commit()
    if erasure is None:  # appended just above, in this transaction
        raise RuntimeError(f"the erasure of {chain_id} seq {seq} was not recorded")
    return erasure


def _entry(sql: _Sql, chain_id: str, seq: int) -> dict[str, Any]:
    """The entry to erase; NotFound naming the chain and seq when there is none."""
    row = (
        sql.conn.exec_driver_sql(
            "SELECT id, action, content_digest, erased_at FROM audit_entries"
            f" WHERE chain_id = {sql.mark} AND seq = {sql.mark}",
            (chain_id, seq),
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(
            f"the audit ledger has no entry {seq} for {chain_id}",
            [Problem("seq", f"list the entries with `threshold audit events --system {chain_id}`")],
        )
    return dict(row)


def _check_erasable(row: dict[str, Any], chain_id: str, seq: int) -> None:
    """Refuse erasures that would break the chain or hide an erasure."""
    if row["action"] == AuditAction.ledger_entry_erased:
        raise Conflict(
            f"entry {seq} of {chain_id} records an erasure; it stays so the erasure is provable",
            [Problem("seq", "erase the entry it names instead, if that is not done yet")],
        )
    if row["content_digest"] is None:
        raise Conflict(
            f"entry {seq} of {chain_id} was written before content digests (migration 0008): "
            "its hash covers the content itself, so erasing it would break the chain",
            [Problem("seq", "only entries written since migration 0008 can be erased")],
        )
    if row["erased_at"] is not None:
        raise Conflict(
            f"entry {seq} of {chain_id} is marked erased but no erasure entry records it",
            [
                Problem(
                    "seq", "run `threshold audit verify`: the ledger was changed outside Threshold"
                )
            ],
        )


def _recorded(sql: _Sql, chain_id: str, seq: int) -> Erasure | None:
    """The erasure of entry `seq` as recorded in the ledger, if there is one."""
    row = (
        sql.conn.exec_driver_sql(
            f"SELECT seq, at, actor, detail, hash FROM audit_entries WHERE event_key = {sql.mark}",
            (erasure_key(chain_id, seq),),
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    detail = _detail(row["detail"])
    return Erasure(
        chain_id=chain_id,
        seq=seq,
        content_digest=str(detail.get("content_digest", "")),
        erased_at=row["at"],
        erased_by=row["actor"],
        reason=str(detail.get("reason", "")),
        erasure_seq=row["seq"],
        erasure_hash=row["hash"],
    )


def _detail(text: str) -> dict[str, Any]:
    """An erasure entry's detail as a dict (empty when it is not one)."""
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
