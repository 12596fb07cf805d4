"""Figure 4: the audit ledger's append and verify rates on a temporary SQLite database.

Appends go through `db.projection.commit_batch` (one transaction per batch: chain-head locks,
event-key dedup, canonical JSON, hashing, insert, head update), not through Temporal. The raw
baseline inserts the very same rows (read back afterwards) into a plain table with the same
columns and no constraints or indexes, with `executemany` in transactions of the same sizes,
on the same database file and connection settings (WAL, synchronous=NORMAL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

import yaml
from rich.progress import Progress
from sqlalchemy import Engine

from bench.common import BUSINESS, ROOT
from db.engine import init_db, make_engine
from db.ledger import verify_chains
from db.projection import commit_batch
from domain.contracts import AuditEvent, RecordBatch
from domain.manifest import parse_manifest

ACTIONS = ("decision_approved", "scope_changed", "recertified", "promotion_requested")
COLUMNS = "chain_id, seq, event_key, at, actor, action, request_id, detail, prev_hash, hash"
RAW_TABLE = """CREATE TABLE raw_entries (
    id INTEGER PRIMARY KEY, chain_id TEXT NOT NULL, seq INTEGER NOT NULL,
    event_key TEXT NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    request_id TEXT, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
)"""
RAW_TABLE_INDEXED = RAW_TABLE.replace(
    "hash TEXT NOT NULL\n)",
    "hash TEXT NOT NULL, UNIQUE (chain_id, seq), UNIQUE (event_key)\n)",
).replace("id INTEGER PRIMARY KEY", "id INTEGER PRIMARY KEY AUTOINCREMENT")
"""The audit table's shape: the same columns, keys and unique indexes, none of the checks."""
RAW_INSERT = f"INSERT INTO raw_entries ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
VERIFY_RUNS = 3

Key = tuple[str, int]  # (chain id, seq)
Figures = dict[str, dict[str, float | int]]


@dataclass(frozen=True)
class LedgerSizes:
    """How big the ledger gets and how it is written."""

    entries: int = 200_000
    chains: int = 1_000
    chains_per_batch: int = 10  # a batch holds a burst of events for each of this many chains
    small_batches: int = 1_000  # workflow-sized transactions: this many batches of 2 events


LEDGER_FULL = LedgerSizes()
LEDGER_QUICK = LedgerSizes(entries=50_000, chains=250, small_batches=300)


class EventFactory:
    """Realistic audit events: a manifest-sized first entry per chain, small ones after."""

    def __init__(self) -> None:
        source = yaml.safe_load((ROOT / "examples" / "support-assistant.yaml").read_text())
        self.manifest = parse_manifest(source).model_dump(mode="json")
        self.epoch = datetime(2026, 1, 1, tzinfo=UTC)

    def event(self, key: Key) -> AuditEvent:
        """The `seq`-th event of a chain (1-based)."""
        chain, seq = key
        first = seq == 1
        detail: dict[str, Any] = (
            {"manifest": self.manifest}
            if first
            else {"role": "business_owner", "comment": f"reviewed change {seq}", "via": "api"}
        )
        return AuditEvent(
            event_key=f"ai-system:{chain}:{seq}",
            system_id=chain,
            at=self.epoch + timedelta(seconds=seq),
            actor=BUSINESS,
            action="registered" if first else ACTIONS[seq % len(ACTIONS)],
            request_id=None if first else f"{chain}-{seq // 50 + 1}",
            detail=detail,
        )


def fill_plan(sizes: LedgerSizes) -> list[list[Key]]:
    """Batches of `chains_per_batch` chains, each chain written in two bursts."""
    per_chain = sizes.entries // sizes.chains
    burst = max(1, per_chain // 2)
    plan: list[list[Key]] = []
    for group in range(0, sizes.chains, sizes.chains_per_batch):
        last = min(group + sizes.chains_per_batch, sizes.chains)
        chains = [f"ledger-{c:05d}" for c in range(group, last)]
        for start in range(1, per_chain + 1, burst):
            seqs = range(start, min(start + burst, per_chain + 1))
            plan.append([(chain, seq) for chain in chains for seq in seqs])
    return plan


def small_plan(sizes: LedgerSizes) -> list[list[Key]]:
    """What one workflow task usually records: two events of one new chain per transaction."""
    return [[(f"small-{i:05d}", 1), (f"small-{i:05d}", 2)] for i in range(sizes.small_batches)]


def timed_appends(
    engine: Engine, plan: list[list[Key]], factory: EventFactory, progress: Progress, label: str
) -> float:
    """Seconds inside `commit_batch` for each planned batch (building the events excluded)."""
    task = progress.add_task(label, total=sum(map(len, plan)))
    spent = 0.0
    for keys in plan:
        batch = RecordBatch(events=[factory.event(key) for key in keys])
        began = perf_counter()
        commit_batch(engine, batch=batch)
        spent += perf_counter() - began
        progress.advance(task, len(keys))
    return spent


def timed_raw_inserts(
    engine: Engine,
    plan: list[list[Key]],
    skip: int,
    progress: Progress,
    label: str,
    ddl: str = RAW_TABLE,
) -> float:
    """Insert the ledger rows after the first `skip` into a table made by `ddl`, plan-sized."""
    raw = engine.raw_connection()
    dbapi: Any = raw.dbapi_connection
    try:
        select = f"SELECT {COLUMNS} FROM audit_entries ORDER BY id LIMIT -1 OFFSET ?"
        rows = dbapi.execute(select, (skip,)).fetchall()
        dbapi.execute(ddl)
        task = progress.add_task(label, total=len(rows))
        spent, offset = 0.0, 0
        for keys in plan:
            chunk = rows[offset : offset + len(keys)]
            offset += len(keys)
            began = perf_counter()
            dbapi.execute("BEGIN IMMEDIATE")
            dbapi.executemany(RAW_INSERT, chunk)
            dbapi.execute("COMMIT")
            spent += perf_counter() - began
            progress.advance(task, len(chunk))
        dbapi.execute("DROP TABLE raw_entries")
    finally:
        raw.close()
    return spent


def timed_verify(engine: Engine, progress: Progress, expected: int) -> list[float]:
    """Seconds per full `verify_chains` run; fails loudly if the ledger does not verify."""
    task = progress.add_task("audit.verify", total=VERIFY_RUNS)
    runs = []
    for _ in range(VERIFY_RUNS):
        began = perf_counter()
        report = verify_chains(engine)
        runs.append(perf_counter() - began)
        if not report.ok or report.entries_checked != expected:
            raise RuntimeError(f"the ledger did not verify: {report.model_dump()}")
        progress.advance(task)
    return sorted(runs)


def rate(count: int, seconds: float, **extra: float) -> dict[str, float | int]:
    """Entries, seconds and entries per second."""
    figures: dict[str, float | int] = {
        "entries": count,
        "seconds": round(seconds, 3),
        "per_second": round(count / seconds, 1) if seconds else 0.0,
    }
    return {**figures, **{name: round(value, 1) for name, value in extra.items()}}


def run_ledger(tmp: Path, sizes: LedgerSizes, progress: Progress) -> Figures:
    """Fill and verify the ledger, then compare append rates with raw inserts."""
    path = tmp / "ledger.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    factory = EventFactory()
    fill, small = fill_plan(sizes), small_plan(sizes)
    total, per_batch = sum(map(len, fill)), sum(map(len, fill)) / len(fill)
    append = timed_appends(engine, fill, factory, progress, "audit.append")
    verify = timed_verify(engine, progress, total)
    raw = timed_raw_inserts(engine, fill, 0, progress, "raw.insert")
    indexed = timed_raw_inserts(
        engine, fill, 0, progress, "raw.insert.indexed", ddl=RAW_TABLE_INDEXED
    )
    small_append = timed_appends(engine, small, factory, progress, "audit.append.small")
    small_raw = timed_raw_inserts(engine, small, total, progress, "raw.insert.small")
    size = sum(part.stat().st_size for part in tmp.glob("ledger.db*"))
    engine.dispose()
    return {
        "audit.append": rate(total, append, batch_entries=per_batch),
        "raw.insert": rate(total, raw, batch_entries=per_batch),
        "raw.insert.indexed": rate(total, indexed, batch_entries=per_batch),
        "audit.verify": {
            **rate(total, verify[len(verify) // 2]),
            "best_seconds": round(verify[0], 3),
            "runs": VERIFY_RUNS,
            "chains": sizes.chains,
        },
        "audit.append.small": rate(2 * len(small), small_append, batch_entries=2),
        "raw.insert.small": rate(2 * len(small), small_raw, batch_entries=2),
        "ledger.db": {"bytes": size, "chains": sizes.chains, "entries": total},
    }
