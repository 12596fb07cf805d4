"""Erasure at the database: entries written before migration 0008 still verify and are never
erased; an erased entry's hash is untouched; a stray erasure mark is caught."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text

from db.erasure import Erasure, erase_entry
from db.ledger import verify_chains
from domain.errors import Conflict, NotFound
from domain.ledger import GENESIS, entry_hash
from tests.api.ledger_app import append
from tests.db.conftest import NOW


def _as_written_before_0008(engine: Engine, chain_id: str) -> None:
    """Re-chain a chain the way entries were chained before 0008: over the detail, no digest."""
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT id, seq, at, actor, action, request_id, detail FROM audit_entries"
                " WHERE chain_id = :c ORDER BY seq"
            ),
            {"c": chain_id},
        ).all()
        prev = GENESIS
        for r in rows:
            digest = entry_hash(
                prev, chain_id, r.seq, r.at, r.actor, r.action, r.request_id or "", r.detail
            )
            conn.execute(
                text(
                    "UPDATE audit_entries SET content_digest = NULL, prev_hash = :p, hash = :h"
                    " WHERE id = :i"
                ),
                {"p": prev, "h": digest, "i": r.id},
            )
            prev = digest
        conn.execute(
            text("UPDATE chain_heads SET hash = :h WHERE ledger = 'audit' AND chain_id = :c"),
            {"h": prev, "c": chain_id},
        )


def _erase(engine: Engine, seq: int, reason: str = "PII in a comment") -> Erasure:
    return erase_entry(
        engine,
        chain_id="alpha-one",
        seq=seq,
        by="ada@example.com",
        reason=reason,
        at=NOW + timedelta(days=1),
    )


def test_entries_written_before_0008_verify_and_are_not_erased(engine: Engine) -> None:
    """A chain hashed over its details (no digest) verifies; erasing from it is refused."""
    append(engine, "alpha-one", range(1, 5))
    _as_written_before_0008(engine, "alpha-one")
    assert verify_chains(engine).ok
    with pytest.raises(Conflict, match="before content digests"):
        _erase(engine, 2)
    append(engine, "alpha-one", range(5, 7))  # new entries chain onto the old ones, with digests
    assert verify_chains(engine).ok
    _erase(engine, 5)
    report = verify_chains(engine)
    assert (report.ok, report.entries_erased, report.entries_checked) == (True, 1, 7)


def test_an_entry_cannot_pass_as_written_before_0008(engine: Engine) -> None:
    """Dropping an entry's digest and storing 'sha256:<digest>' as its content (which hashes the
    same bytes under the old rule) is caught: old-rule content is always a JSON object."""
    append(engine, "alpha-one", range(1, 4))
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE audit_entries SET detail = 'sha256:' || content_digest,"
                " content_digest = NULL WHERE seq = 2"
            )
        )
    broken = verify_chains(engine).first_broken
    assert broken is not None
    assert (broken.seq, broken.problem) == (
        2,
        "content does not match its digest: entry was edited",
    )


def test_erasure_keeps_every_hash_and_head(engine: Engine) -> None:
    """Erasing changes no stored hash: only the detail goes, and the erasure is appended."""
    append(engine, "alpha-one", range(1, 4))
    with engine.connect() as conn:
        before = conn.execute(text("SELECT seq, hash FROM audit_entries ORDER BY seq")).all()
    erasure = _erase(engine, 2)
    with engine.connect() as conn:
        after = conn.execute(text("SELECT seq, hash FROM audit_entries ORDER BY seq")).all()
        detail = conn.execute(text("SELECT detail FROM audit_entries WHERE seq = 2")).scalar()
    assert after[:3] == before and len(after) == 4
    assert detail == "{}"
    assert erasure.erasure_seq == 4
    with pytest.raises(NotFound):
        _erase(engine, 9)


def test_erasure_entry_deleted_afterwards_is_caught(engine: Engine) -> None:
    """Dropping the erasure entry (and moving the head back) leaves an unrecorded erasure."""
    append(engine, "alpha-one", range(1, 4))
    _erase(engine, 1)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq = 4"))
        head = conn.execute(text("SELECT hash FROM audit_entries WHERE seq = 3")).scalar()
        conn.execute(text("UPDATE chain_heads SET seq = 3, hash = :h"), {"h": head})
    broken = verify_chains(engine).first_broken
    assert broken is not None
    assert (broken.seq, broken.problem) == (
        1,
        "content erased without an erasure entry in the ledger",
    )


def test_content_written_back_into_an_erased_entry_is_caught(engine: Engine) -> None:
    """After a real erasure, putting any content back into the erased entry fails verification."""
    append(engine, "alpha-one", range(1, 4))
    _erase(engine, 2)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET detail = :d WHERE seq = 2"), {"d": '{"n":2}'})
    broken = verify_chains(engine).first_broken
    assert broken is not None and broken.seq == 2
    assert "entry was edited" in broken.problem
