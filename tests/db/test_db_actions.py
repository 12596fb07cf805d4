"""The action ledger in the database: checked appends, chains, tamper detection, trace."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from db import action_chunks
from db.action_hash import (
    ACTION_CHAINED,
    ACTION_HASHED,
    action_body_sql,
    action_bytes_sql,
    action_hash,
    action_printf_sql,
)
from db.actions import ScopeCache, ingest_actions, record_key, trace, verify_actions
from db.projection import upsert_system
from domain.actions import ActionRecord
from domain.ledger import canonical
from domain.lifecycle import LifecycleState
from tests.db.conftest import NOW, credential, system_view


def publish(engine: Engine, system_id: str, version: int, tools: list[str]) -> None:
    """Project a production system with these tools and one production credential."""
    view = system_view(
        system_id,
        version=version,
        state=LifecycleState.production,
        capabilities={"tools": tools, "read_targets": ["kb"]},
        credentials=[credential(f"{system_id}-key", "production")],
    )
    with Session(engine) as session:
        upsert_system(session, view=view)
        session.commit()


def record(system_id: str, n: int, **fields: Any) -> ActionRecord:
    """The n-th tool call of a system."""
    data: dict[str, Any] = {
        "system": system_id,
        "environment": "production",
        "time": NOW + timedelta(seconds=n),
        "kind": "tool_call",
        "tool": "search",
        "target": "kb",
        "credential_id": f"{system_id}-key",
        "trace_id": f"trace-{n}",
        "id": f"{n}",
        "content": f"question {n}",
    }
    return ActionRecord.model_validate(data | fields)


def test_appends_chain_per_system_and_verify(engine: Engine) -> None:
    """Records of two systems chain separately; verification checks every entry."""
    publish(engine, "alpha", 1, ["search"])
    publish(engine, "beta", 1, ["search"])
    cache = ScopeCache()
    records = [record("alpha", n) for n in range(5)] + [record("beta", n) for n in range(3)]
    result = ingest_actions(engine, records, cache)
    assert (result.accepted, result.duplicates, result.findings) == (8, 0, 0)
    report = verify_actions(engine)
    assert report.ok and report.entries_checked == 8 and report.chains_checked == 2
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT content, content_length FROM actions LIMIT 1")).one()
    assert stored == (None, len("question 0"))  # digest policy: no text kept


def test_resent_records_are_duplicates_not_new_entries(engine: Engine) -> None:
    """A batch sent again appends nothing; a batch half old, half new appends the new half."""
    publish(engine, "alpha", 1, ["search"])
    cache = ScopeCache()
    ingest_actions(engine, [record("alpha", n) for n in range(4)], cache)
    again = ingest_actions(engine, [record("alpha", n) for n in range(2, 6)], cache)
    assert (again.accepted, again.duplicates) == (2, 2)
    assert verify_actions(engine).entries_checked == 6


def test_a_record_without_an_id_keeps_its_key_across_the_model_column() -> None:
    """A record with no id and no model has the key it had before 0013 (a re-send stays a
    duplicate); naming a model makes it another record."""
    plain = record("alpha", 1, id=None)
    assert record_key(plain) == (  # as computed before the model field existed
        "alpha:e99013979cedc7ab2dbe1e2d4842ea4854089e620fab6dd913ea1b811d57fa20"
    )
    assert record_key(record("alpha", 1, id=None, model="claude")) != record_key(plain)


def test_edited_and_deleted_entries_are_caught(engine: Engine) -> None:
    """Editing a target or deleting an entry breaks the chain at that entry."""
    publish(engine, "alpha", 1, ["search"])
    ingest_actions(engine, [record("alpha", n) for n in range(6)], ScopeCache())
    with engine.begin() as conn:
        conn.execute(text("UPDATE actions SET target = 'payroll' WHERE seq = 2"))
    broken = verify_actions(engine).first_broken
    assert broken is not None and (broken.ledger, broken.seq) == ("actions", 2)
    assert "edited" in broken.problem
    with engine.begin() as conn:
        conn.execute(text("UPDATE actions SET target = 'kb' WHERE seq = 2"))
        conn.execute(text("DELETE FROM actions WHERE seq = 4"))
    broken = verify_actions(engine).first_broken
    assert broken is not None and "deleted" in broken.problem


def test_findings_are_stored_and_the_first_of_each_kind_reported_once(engine: Engine) -> None:
    """Every out-of-scope record is a stored finding; only the first per kind is reported."""
    publish(engine, "alpha", 1, ["search"])
    cache = ScopeCache()
    first = ingest_actions(engine, [record("alpha", n, tool="shell") for n in range(3)], cache)
    assert first.findings == 3
    assert [(f.system_id, f.code) for f in first.first_findings] == [("alpha", "tool_out_of_scope")]
    later = ingest_actions(engine, [record("alpha", 9, tool="shell")], cache)
    assert later.findings == 1 and later.first_findings == []


def test_the_cached_scope_follows_the_systems_version(engine: Engine) -> None:
    """Once the projection shows an approved new tool (a newer version), it is in scope."""
    publish(engine, "alpha", 1, ["search"])
    cache = ScopeCache()
    assert ingest_actions(engine, [record("alpha", 1, tool="shell")], cache).findings == 1
    publish(engine, "alpha", 2, ["search", "shell"])
    assert ingest_actions(engine, [record("alpha", 2, tool="shell")], cache).findings == 0


def test_trace_finds_every_action_of_a_credential(engine: Engine) -> None:
    """Counts, time range, kinds and targets cover every action of the credential."""
    publish(engine, "alpha", 1, ["search"])
    publish(engine, "beta", 1, ["search"])
    records = [record("alpha", n) for n in range(7)] + [record("beta", n) for n in range(2)]
    ingest_actions(engine, records, ScopeCache())
    with Session(engine) as session:
        found = trace(session, credential_id="alpha-key", limit=3)
        since = trace(session, system_id="alpha", since=NOW + timedelta(seconds=5))
    assert found["count"] == 7 and found["systems"] == {"alpha": 7}
    assert found["targets"] == {"kb": 7} and len(found["actions"]) == 3
    assert found["first"] < found["last"]
    assert since["count"] == 2


def test_a_deleted_tail_is_caught_by_the_chain_head(engine: Engine) -> None:
    """Deleting a system's newest actions leaves its chain head pointing past the end."""
    publish(engine, "alpha", 1, ["search"])
    publish(engine, "beta", 1, ["search"])
    records = [record(s, n) for n in range(4) for s in ("alpha", "beta")]
    ingest_actions(engine, records, ScopeCache())
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM actions WHERE chain_id = 'beta' AND seq = 4"))
    broken = verify_actions(engine).first_broken
    assert broken is not None and broken.chain_id == "beta" and "tail deleted" in broken.problem


HASHED_EDITS = {  # field: a different stored value (None makes a kept field NULL)
    "at": "2026-11-26T10:00:09.000000+00:00",
    "credential_id": None,
    "kind": "prompt",
    "trace_id": "trace-forged",
    "environment": "pilot",
    "tool": None,
    "target": "payroll",
    "approved_by": "mallory",
    "content_digest": "0" * 64,
    "content_length": 7,
    "content": "question 3 (rewritten)",
    "record_key": "alpha:forged",
    "model": "gpt-5",
    "prev_hash": "f" * 64,
}


def stored(engine: Engine, sql: str, **params: Any) -> Any:
    """One value read back from the database."""
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_every_hashed_field_and_the_link_is_checked(engine: Engine) -> None:
    """Changing any one stored field of an entry, to a value or to NULL, names that entry."""
    publish(engine, "alpha", 1, ["search"])
    records = [record("alpha", n, model="claude") for n in range(6)]
    ingest_actions(engine, records, ScopeCache())
    entry = stored(engine, "SELECT id FROM actions WHERE chain_id = 'alpha' AND seq = 3")
    edits: list[tuple[str, Any]] = [*HASHED_EDITS.items(), ("model", None)]
    if engine.dialect.name == "sqlite":  # PostgreSQL text cannot hold NUL at all
        edits.append(("target", "kb\x00payroll"))
    for field, value in edits:
        before = stored(engine, f"SELECT {field} FROM actions WHERE id = :i", i=entry)
        with engine.begin() as conn:
            conn.execute(
                text(f"UPDATE actions SET {field} = :v WHERE id = :i"), {"v": value, "i": entry}
            )
        broken = verify_actions(engine).first_broken
        assert broken is not None, field
        assert (broken.chain_id, broken.seq, broken.entry_id) == ("alpha", 3, entry), field
        with engine.begin() as conn:
            conn.execute(
                text(f"UPDATE actions SET {field} = :v WHERE id = :i"), {"v": before, "i": entry}
            )
        assert verify_actions(engine).ok, field


def test_the_database_joins_the_fields_exactly_as_append_hashes_them(engine: Engine) -> None:
    """The bytes verify hashes are `action_hash`'s: NULLs, numbers and non-ASCII text alike."""
    publish(engine, "alpha", 1, ["search"])
    records = [
        record("alpha", 1, trace_id="trace-é-∑", approved_by="Zoë"),
        record("alpha", 2, kind="prompt", tool=None, target=None, content="naïve ☃"),
        record("alpha", 3, kind="prompt", tool=None, target=None, model="Claude-Sonnet-é"),
    ]
    ingest_actions(engine, records, ScopeCache())
    body = action_body_sql(engine.dialect.name)
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT {body}, prev_hash, hash, {', '.join(ACTION_CHAINED)} FROM actions")
        ).all()
    assert len(rows) == 3
    for joined, prev_hash, digest, *fields in rows:
        *fixed, model = fields  # no model: the bytes every entry hashed before migration 0013
        assert bytes(joined) == prev_hash.encode() + canonical(
            ["" if v is None else str(v) for v in fixed] + ([] if model is None else [model])
        )
        assert action_hash(prev_hash, fields) == digest == hashlib.sha256(joined).hexdigest()
    assert [row[-1] for row in rows] == [None, None, "Claude-Sonnet-é"]
    if engine.dialect.name == "sqlite":  # and SQLite's one-printf join, measured whole
        measured = action_bytes_sql(("prev_hash", *ACTION_CHAINED))
        with engine.connect() as conn:
            printed = conn.execute(
                text(f"SELECT CAST({action_printf_sql()} AS BLOB), {measured}, {body} FROM actions")
            ).all()
        for joined, length, piped in printed:
            assert bytes(joined) == bytes(piped)
            assert len(joined) == length + len(ACTION_HASHED) - 1


def test_split_verification_joins_spans_and_catches_reorder_and_forged_head(
    engine: Engine,
) -> None:
    """Processes verifying spans of ids agree with one process and catch what one would."""
    for system in ("alpha", "beta", "gamma"):
        publish(engine, system, 1, ["search"])
    records = [record(s, n) for n in range(10) for s in ("alpha", "beta", "gamma")]
    ingest_actions(engine, records, ScopeCache())
    whole = verify_actions(engine, parallel_from=1)
    assert (whole.ok, whole.entries_checked, whole.chains_checked) == (True, 30, 3)
    assert verify_actions(engine) == whole

    swap = "UPDATE actions SET id = :to WHERE id = :i"
    five, six = (
        stored(engine, f"SELECT id FROM actions WHERE chain_id = 'beta' AND seq = {n}")
        for n in (5, 6)
    )
    with engine.begin() as conn:  # beta's entries 5 and 6 change places in the table
        for source, target in ((five, -1), (six, five), (-1, six)):
            conn.execute(text(swap), {"i": source, "to": target})
    broken = verify_actions(engine, parallel_from=1).first_broken
    assert broken is not None and (broken.chain_id, broken.seq) == ("beta", 6)
    with engine.begin() as conn:
        for source, target in ((five, -1), (six, five), (-1, six)):
            conn.execute(text(swap), {"i": source, "to": target})
    assert verify_actions(engine, parallel_from=1).ok

    with engine.begin() as conn:
        conn.execute(
            text("UPDATE chain_heads SET hash = :h WHERE chain_id = 'gamma'"), {"h": "0" * 64}
        )
    broken = verify_actions(engine, parallel_from=1).first_broken
    assert broken is not None and broken.chain_id == "gamma"
    assert "chain head hash does not match" in broken.problem

    middle = stored(engine, "SELECT (min(id) + max(id) + 1) / 2 FROM actions")
    chain, seq = (
        stored(engine, f"SELECT {column} FROM actions WHERE id = :i", i=middle)
        for column in ("chain_id", "seq")
    )
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM actions WHERE id = :i"), {"i": middle})
    broken = verify_actions(engine, parallel_from=1).first_broken
    assert broken is not None and (broken.chain_id, broken.seq) == (chain, seq + 1)
    assert "deleted" in broken.problem


NUL_EDITS = (  # field: how a stored value gets text hidden behind a NUL (None stays NULL-like)
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
    "model",
    "prev_hash",
    "hash",
    "chain_id",
)


def test_text_hidden_behind_a_nul_in_any_field_is_caught(engine: Engine) -> None:
    """SQLite keeps text after a NUL character; appending some to any field names the entry."""
    if engine.dialect.name != "sqlite":
        return  # PostgreSQL text cannot hold NUL at all
    publish(engine, "alpha", 1, ["search"])
    ingest_actions(engine, [record("alpha", n) for n in range(6)], ScopeCache())
    entry = stored(engine, "SELECT id FROM actions WHERE chain_id = 'alpha' AND seq = 3")
    for field in NUL_EDITS:
        before = stored(engine, f"SELECT {field} FROM actions WHERE id = :i", i=entry)
        hidden = ("" if before is None else str(before)) + "\x00payroll"
        with engine.begin() as conn:
            conn.execute(
                text(f"UPDATE actions SET {field} = :v WHERE id = :i"), {"v": hidden, "i": entry}
            )
        broken = verify_actions(engine).first_broken
        assert broken is not None, field
        assert (broken.seq, broken.entry_id) == (3, entry), field
        with engine.begin() as conn:
            conn.execute(
                text(f"UPDATE actions SET {field} = :v WHERE id = :i"), {"v": before, "i": entry}
            )
        assert verify_actions(engine).ok, field


def test_chunked_verification_counts_everything_and_finds_an_edit_in_any_chunk(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read a few entries at a time, interleaved chains verify whole and an edit anywhere shows."""
    monkeypatch.setattr(action_chunks, "CHUNK_IDS", 4)
    for system in ("alpha", "beta", "gamma"):
        publish(engine, system, 1, ["search"])
    records = [record(s, n) for n in range(9) for s in ("alpha", "beta", "gamma")]
    ingest_actions(engine, records, ScopeCache())
    report = verify_actions(engine)
    assert (report.ok, report.entries_checked, report.chains_checked) == (True, 27, 3)
    for chain, seq in (("alpha", 1), ("beta", 4), ("gamma", 9)):  # first, middle, last chunk
        entry = stored(engine, f"SELECT id FROM actions WHERE chain_id = '{chain}' AND seq = {seq}")
        with engine.begin() as conn:
            conn.execute(text("UPDATE actions SET tool = 'shell' WHERE id = :i"), {"i": entry})
        broken = verify_actions(engine).first_broken
        assert broken is not None and (broken.chain_id, broken.seq) == (chain, seq)
        assert broken.entry_id == entry and "edited" in broken.problem
        with engine.begin() as conn:
            conn.execute(text("UPDATE actions SET tool = 'search' WHERE id = :i"), {"i": entry})
    assert verify_actions(engine) == report


def test_values_holding_a_nul_verify_and_later_edits_still_show(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record whose own text holds a NUL is stored and verifies; an edit after it is caught."""
    monkeypatch.setattr(action_chunks, "CHUNK_IDS", 3)
    publish(engine, "alpha", 1, ["search"])
    if engine.dialect.name == "sqlite":  # PostgreSQL text refuses NUL on the way in
        records = [record("alpha", n, trace_id=f"trace\x00{n}") for n in range(4, 6)]
    else:
        records = [record("alpha", n, trace_id=f"trace-{n}") for n in range(4, 6)]
    records = [record("alpha", n) for n in range(4)] + records
    records += [record("alpha", n) for n in range(6, 12)]
    ingest_actions(engine, records, ScopeCache())
    report = verify_actions(engine)
    assert (report.ok, report.entries_checked) == (True, 12)
    with engine.begin() as conn:
        conn.execute(text("UPDATE actions SET target = 'payroll' WHERE seq = 11"))
    broken = verify_actions(engine).first_broken
    assert broken is not None and broken.seq == 11 and "edited" in broken.problem


def test_a_chunk_too_long_to_join_is_read_row_by_row(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries whose joined text would pass the chunk limit still verify, and edits still show."""
    monkeypatch.setattr(action_chunks, "CHUNK_BYTES", 100)
    publish(engine, "alpha", 1, ["search"])
    ingest_actions(engine, [record("alpha", n) for n in range(5)], ScopeCache())
    assert verify_actions(engine).entries_checked == 5
    with engine.begin() as conn:
        conn.execute(text("UPDATE actions SET kind = 'output' WHERE seq = 2"))
    broken = verify_actions(engine).first_broken
    assert broken is not None and broken.seq == 2


@pytest.mark.parametrize("chunk_ids", [4, action_chunks.CHUNK_IDS])
def test_every_broken_action_chain_is_named(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, chunk_ids: int
) -> None:
    """Two action chains broken in different ways are both named; the intact one is counted."""
    monkeypatch.setattr(action_chunks, "CHUNK_IDS", chunk_ids)
    for system in ("alpha", "beta", "gamma"):
        publish(engine, system, 1, ["search"])
    records = [record(s, n) for n in range(10) for s in ("alpha", "beta", "gamma")]
    ingest_actions(engine, records, ScopeCache())
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE actions SET target = 'payroll' WHERE chain_id = 'alpha' AND seq = 3")
        )
        conn.execute(text("DELETE FROM actions WHERE chain_id = 'gamma' AND seq = 7"))
    one = verify_actions(engine)
    assert one.entries_checked == 2 + 10 + 6  # a chain is read up to its first problem
    for report in (one, verify_actions(engine, parallel_from=1)):
        named = sorted((b.chain_id, b.seq) for b in report.broken)
        assert named == [("alpha", 3), ("gamma", 8)], report
        assert report.first_broken in report.broken
        assert report.chains_checked == 3


def test_the_stored_model_is_shown_and_chained(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model each record names is stored and traced; rewriting it, blanking it or adding
    one to an entry without one names that entry, read in chunks, row by row or split."""
    monkeypatch.setattr(action_chunks, "CHUNK_IDS", 4)
    publish(engine, "alpha", 1, ["search"])
    models = ["claude", None, "gpt-5", "claude", None, "claude"]
    records = [record("alpha", n, model=m) for n, m in enumerate(models)]
    result = ingest_actions(engine, records, ScopeCache())
    assert (result.accepted, result.findings) == (6, 1)  # gpt-5 is not the approved claude
    with Session(engine) as session:
        found = trace(session, system_id="alpha")
    assert found["models"] == {"claude": 3, "gpt-5": 1} and found["findings"] == {
        "model_not_approved": 1
    }
    assert [a["model"] for a in found["actions"]] == list(reversed(models))
    assert verify_actions(engine).ok
    if engine.dialect.name == "sqlite":  # the fast chunked read trusts entries with a model
        ids = (1, stored(engine, "SELECT max(id) FROM actions"))
        raw = engine.raw_connection()
        try:
            chains = action_chunks.Chains()
            assert action_chunks.chunk_verified(raw.dbapi_connection, ids, chains)
            assert chains.entries == 6
        finally:
            raw.close()
    edits = [(1, "claude-opus"), (1, None), (2, "claude"), (2, ""), (3, "claude")]
    for seq, value in edits:
        entry = stored(engine, f"SELECT id FROM actions WHERE chain_id = 'alpha' AND seq = {seq}")
        before = stored(engine, "SELECT model FROM actions WHERE id = :i", i=entry)
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE actions SET model = :v WHERE id = :i"), {"v": value, "i": entry}
            )
        for report in (verify_actions(engine), verify_actions(engine, parallel_from=1)):
            broken = report.first_broken
            assert broken is not None, (seq, value)
            assert (broken.seq, broken.entry_id) == (seq, entry), (seq, value)
            assert "edited" in broken.problem
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE actions SET model = :v WHERE id = :i"), {"v": before, "i": entry}
            )
        assert verify_actions(engine).ok, (seq, value)
