"""The audit ledger: idempotent appends, chained hashes and verification that names tampering."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import Engine, text
from sqlmodel import Session

from db.ledger import append_events, detail_json, list_events, verify_chains
from domain.ledger import GENESIS, canonical, chain_hash
from tests.db.conftest import NOW, audit_event


def _append(engine: Engine, system_id: str, numbers: range) -> int:
    with Session(engine) as session:
        written = append_events(session, events=[audit_event(system_id, n) for n in numbers])
        session.commit()
    return written


def _entry_id(engine: Engine, chain_id: str, seq: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT id FROM audit_entries WHERE chain_id = :c AND seq = :s"),
                {"c": chain_id, "s": seq},
            ).scalar_one()
        )


def _tamper(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def test_appended_chains_verify(engine: Engine) -> None:
    """Events appended in several batches over several systems form chains that verify."""
    assert _append(engine, "alpha-one", range(1, 6)) == 5
    assert _append(engine, "alpha-one", range(6, 9)) == 3
    assert _append(engine, "beta-two", range(1, 4)) == 3
    report = verify_chains(engine)
    assert report.ok, report
    assert (report.entries_checked, report.chains_checked) == (11, 2)
    assert report.first_broken is None
    one = verify_chains(engine, chain_id="beta-two")
    assert (one.ok, one.entries_checked, one.chains_checked) == (True, 3, 1)


def test_appending_known_events_again_writes_nothing(engine: Engine) -> None:
    """Events whose keys are already stored (a retried activity) or repeated are written once."""
    _append(engine, "alpha-one", range(1, 4))
    assert _append(engine, "alpha-one", range(1, 4)) == 0
    assert _append(engine, "alpha-one", range(2, 6)) == 2
    with Session(engine) as session:
        twice = [audit_event("alpha-one", 6), audit_event("alpha-one", 6, actor="x@example.com")]
        assert append_events(session, events=twice) == 1
        session.commit()
    with Session(engine) as session:
        seqs = [row.seq for row in list_events(session, system_id="alpha-one", limit=50)]
    assert seqs == [1, 2, 3, 4, 5, 6]
    assert verify_chains(engine).ok


def test_edited_entry_is_caught_and_named(engine: Engine) -> None:
    """Changing an entry's actor with raw SQL fails verification at exactly that entry."""
    _append(engine, "alpha-one", range(1, 8))
    edited = _entry_id(engine, "alpha-one", 4)
    _tamper(
        engine, "UPDATE audit_entries SET actor = 'mallory@example.com' WHERE id = :i", i=edited
    )
    report = verify_chains(engine)
    assert not report.ok
    assert report.first_broken is not None
    assert (report.first_broken.chain_id, report.first_broken.seq) == ("alpha-one", 4)
    assert report.first_broken.entry_id == edited
    assert report.first_broken.problem == "hash mismatch: entry was edited"
    assert report.entries_checked == 3


def test_deleted_middle_entry_is_caught_as_a_gap(engine: Engine) -> None:
    """Deleting an entry from the middle of a chain is reported as a sequence gap."""
    _append(engine, "alpha-one", range(1, 8))
    _tamper(engine, "DELETE FROM audit_entries WHERE chain_id = 'alpha-one' AND seq = 4")
    broken = verify_chains(engine).first_broken
    assert broken is not None
    assert (broken.seq, broken.entry_id) == (5, _entry_id(engine, "alpha-one", 5))
    assert broken.problem == "sequence gap: entries 4..4 missing (deleted)"


def test_deleted_tail_entry_is_caught_by_the_chain_head(engine: Engine) -> None:
    """Deleting the last entries of a chain disagrees with the chain head and is reported."""
    _append(engine, "alpha-one", range(1, 8))
    _append(engine, "beta-two", range(1, 3))
    _tamper(engine, "DELETE FROM audit_entries WHERE chain_id = 'alpha-one' AND seq = 7")
    broken = verify_chains(engine).first_broken
    assert broken is not None
    assert (broken.chain_id, broken.seq) == ("alpha-one", 6)
    assert broken.problem == "chain head says seq 7 but last entry is 6: tail deleted"


def test_deleting_a_whole_chain_is_caught(engine: Engine) -> None:
    """Deleting every entry of a chain is reported through its surviving head."""
    _append(engine, "alpha-one", range(1, 3))
    _tamper(engine, "DELETE FROM audit_entries WHERE chain_id = 'alpha-one'")
    broken = verify_chains(engine).first_broken
    assert broken is not None
    assert (broken.chain_id, broken.entry_id) == ("alpha-one", None)
    assert "no entries" in broken.problem


def test_rewritten_prev_hash_is_caught(engine: Engine) -> None:
    """Changing the stored prev_hash link of an entry is reported at that entry."""
    _append(engine, "alpha-one", range(1, 5))
    _tamper(
        engine,
        "UPDATE audit_entries SET prev_hash = :h WHERE chain_id = 'alpha-one' AND seq = 3",
        h="f" * 64,
    )
    broken = verify_chains(engine).first_broken
    assert broken is not None
    assert (broken.seq, broken.problem) == (3, "prev_hash does not match the previous entry")


def test_list_events_filters_by_system_and_time(engine: Engine) -> None:
    """Listing returns one system's entries from a moment on, in time order, paged."""
    _append(engine, "alpha-one", range(1, 6))
    _append(engine, "beta-two", range(1, 3))
    with Session(engine) as session:
        since = list_events(session, system_id="alpha-one", since=NOW + timedelta(seconds=3))
        page = list_events(session, system_id=None, limit=3, offset=2)
    assert [e.seq for e in since] == [3, 4, 5]
    assert since[0].at == "2026-11-26T10:00:03.000000+00:00"
    assert since[0].detail == '{"n":3,"text":"héllo","when":"2026-11-26T10:00:00Z"}'
    assert len(page) == 3


def test_detail_is_stored_the_same_after_a_json_round_trip(engine: Engine) -> None:
    """An event's detail serialises identically before and after the Temporal data converter."""
    event = audit_event("alpha-one", 1)
    travelled = type(event).model_validate_json(event.model_dump_json())
    assert detail_json(event.detail) == detail_json(travelled.detail)


def test_verification_split_across_processes_agrees_and_catches_tampering(engine: Engine) -> None:
    """Verifier processes sharing the chains count everything and name every broken chain."""
    for n in range(8):
        _append(engine, f"chain-{n}", range(1, 4 + n))
    whole = verify_chains(engine, parallel_from=1)
    assert (whole.ok, whole.entries_checked, whole.chains_checked) == (True, 52, 8)
    edited = _entry_id(engine, "chain-6", 5)
    _tamper(engine, "UPDATE audit_entries SET detail = '{}' WHERE id = :i", i=edited)
    _tamper(engine, "DELETE FROM chain_heads WHERE chain_id = 'chain-7'")
    report = verify_chains(engine, parallel_from=1)
    assert not report.ok
    assert report.first_broken is not None
    assert (report.first_broken.chain_id, report.first_broken.entry_id) == ("chain-6", edited)
    assert report.first_broken.problem == "content does not match its digest: entry was edited"
    assert [(b.chain_id, b.seq) for b in report.broken] == [("chain-6", 5), ("chain-7", 10)]
    assert "no chain head recorded" in report.broken[1].problem


def test_stored_hash_follows_the_domain_hash_rule(engine: Engine) -> None:
    """Each stored hash is `chain_hash` over the previous hash, the fields and the detail's digest."""
    _append(engine, "alpha-one", range(1, 4))
    with Session(engine) as session:
        rows = list_events(session, system_id="alpha-one")
    prev = GENESIS
    for row in rows:
        fields = [row.chain_id, str(row.seq), row.at, row.actor, row.action, row.request_id or ""]
        assert row.content_digest == hashlib.sha256(row.detail.encode()).hexdigest()
        assert row.prev_hash == prev
        assert row.hash == chain_hash(prev, canonical([*fields, f"sha256:{row.content_digest}"]))
        prev = row.hash
