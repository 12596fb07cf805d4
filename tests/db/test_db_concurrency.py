"""Concurrent writers to one chain: the head lock serialises them into one valid chain."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, text

from db.ledger import verify_chains
from db.projection import commit_batch
from domain.contracts import RecordBatch
from tests.db.conftest import audit_event

THREADS = 8
EVENTS_PER_THREAD = 50


def _writer(engine: Engine, thread: int) -> None:
    for i in range(EVENTS_PER_THREAD):
        n = thread * 1000 + i
        event = audit_event("shared-chain", n, actor=f"writer-{thread}@example.com")
        commit_batch(engine, batch=RecordBatch(events=[event]))


def test_concurrent_appends_to_one_chain_stay_valid(engine: Engine) -> None:
    """Eight threads appending 50 events each to one chain produce seq 1..400 that verify."""
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for future in [pool.submit(_writer, engine, t) for t in range(THREADS)]:
            future.result()
    total = THREADS * EVENTS_PER_THREAD
    with engine.connect() as conn:
        seqs = conn.execute(text("SELECT seq FROM audit_entries ORDER BY seq")).scalars().all()
        head = conn.execute(text("SELECT seq FROM chain_heads")).scalar_one()
    assert list(seqs) == list(range(1, total + 1))
    assert head == total
    report = verify_chains(engine)
    assert (report.ok, report.entries_checked) == (True, total)
