"""Figure 6: the action ledger's ingest, verify and trace on a temporary SQLite database.

Ingest is what `POST /api/v1/actions` does after the HTTP layer: parse a JSON-lines body,
validate each record, look up each system's approved scope (cached per version), run
`check_action` (prompts and outputs name their model, checked against the approved one), keep
content per the logging policy (SHA-256 and length), chain per system and append with
`executemany`, storing findings (0.1% of the records leave their scope). The raw baseline
inserts the very same rows (read back afterwards) into a table of the same shape (columns,
keys, unique and secondary indexes) in the same database, in transactions of the same size, in
the same run. Trace latency is measured once the ledger holds every record.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

from rich.progress import Progress
from sqlalchemy import Engine
from sqlmodel import Session

from api.routes.actions import parse_actions
from bench.ledger import VERIFY_RUNS, rate
from bench.stats import percentile
from db.actions import ACTION_COLUMNS, ScopeCache, ingest_actions, trace, verify_actions
from db.engine import init_db, make_engine
from db.projection import upsert_system
from domain.classification import classify
from domain.contracts import SystemView
from domain.lifecycle import LifecycleState
from domain.manifest import AISystemManifest
from domain.policy import Policy

Figures = dict[str, dict[str, float | int]]
RAW_TABLE = """CREATE TABLE raw_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, chain_id TEXT NOT NULL, seq INTEGER NOT NULL,
    record_key TEXT NOT NULL, at TEXT NOT NULL, environment TEXT NOT NULL, kind TEXT NOT NULL,
    tool TEXT, target TEXT, credential_id TEXT, approved_by TEXT, trace_id TEXT NOT NULL,
    content_digest TEXT, content_length INTEGER, content TEXT, model TEXT, prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL, UNIQUE (chain_id, seq), UNIQUE (record_key)
)"""
RAW_INDEXES = (
    "CREATE INDEX ix_raw_credential_at ON raw_actions (credential_id, at)",
    "CREATE INDEX ix_raw_chain_at ON raw_actions (chain_id, at)",
    "CREATE INDEX ix_raw_trace ON raw_actions (trace_id)",
)
COLUMNS = ", ".join(ACTION_COLUMNS)
RAW_INSERT = f"INSERT INTO raw_actions ({COLUMNS}) VALUES ({', '.join('?' * len(ACTION_COLUMNS))})"
KINDS = ("prompt", "output", "tool_call", "tool_call", "privileged_action")
TRACE_SAMPLES = 60


@dataclass(frozen=True)
class ActionSizes:
    """How many records, on how many systems, in what batches; the compared segment."""

    records: int = 1_000_000
    systems: int = 200
    batch: int = 5_000
    compared: int = 200_000


ACTIONS_FULL = ActionSizes()
ACTIONS_QUICK = ActionSizes(records=200_000, systems=100, compared=100_000)
EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


def _view(index: int) -> SystemView:
    manifest = AISystemManifest.model_validate(
        {
            "id": f"agent-{index:04d}",
            "name": f"Agent {index}",
            "data_classification": "internal",
            "model": {"provider": "anthropic", "name": "claude", "version": "1"},
            "capabilities": {
                "read_targets": ["kb.articles", "crm.tickets"],
                "write_targets": ["crm.notes"],
                "tools": ["search_kb", "add_note"],
            },
            "credentials": [
                {
                    "id": f"agent-{index:04d}-key",
                    "kind": "service_account",
                    "environment": "production",
                    "vault_ref": f"vault://kv/prod/agent-{index:04d}",
                }
            ],
        }
    )
    requirements = classify(manifest, Policy(), now=EPOCH)
    return SystemView(
        system_id=manifest.id,
        state=LifecycleState.production,
        manifest=manifest,
        approved_manifest=manifest,
        requirements=requirements,
        production_requirements=requirements,
        registered_at=EPOCH,
        updated_at=EPOCH,
        version=1,
    )


def _record(n: int, systems: int, rng: random.Random) -> dict[str, Any]:
    system = f"agent-{n % systems:04d}"
    kind = KINDS[n % len(KINDS)]
    tool = target = None
    if kind == "tool_call":
        tool, target = ("search_kb", "kb.articles") if n % 2 else ("add_note", "crm.notes")
    elif kind == "privileged_action":
        target = "crm.notes"
    if n % 1000 == 999:
        tool = "shell"  # out of scope: a finding
    record: dict[str, Any] = {
        "system": system,
        "environment": "production",
        "time": (EPOCH + timedelta(seconds=n)).isoformat(),
        "kind": kind,
        "tool": tool,
        "target": target,
        "credential_id": f"{system}-key",
        "trace_id": f"{n // 4:x}",
        "id": str(n),
        "content": f"customer asked about order {rng.randrange(10**9)}; " + "x" * 120,
    }
    if kind in ("prompt", "output"):
        record["model"] = "claude"  # as GenAI chat spans report it
    return record


def _body(start: int, size: int, systems: int, rng: random.Random) -> bytes:
    return b"\n".join(
        json.dumps(_record(n, systems, rng)).encode() for n in range(start, start + size)
    )


def timed_ingest(
    engine: Engine, sizes: ActionSizes, start: int, stop: int, progress: Progress, label: str
) -> float:
    """Seconds inside parse + ingest for records [start, stop) (building bodies excluded)."""
    cache = ScopeCache()
    rng = random.Random(start)
    task = progress.add_task(label, total=stop - start)
    spent = 0.0
    for offset in range(start, stop, sizes.batch):
        size = min(sizes.batch, stop - offset)
        body = _body(offset, size, sizes.systems, rng)
        began = perf_counter()
        records = parse_actions(body, "application/x-ndjson")
        ingest_actions(engine, records, cache)
        spent += perf_counter() - began
        progress.advance(task, size)
    return spent


def timed_raw(engine: Engine, sizes: ActionSizes, progress: Progress) -> float:
    """Insert the first `compared` ledger rows into a same-shape table, batch-sized."""
    raw = engine.raw_connection()
    dbapi: Any = raw.dbapi_connection
    try:
        rows = dbapi.execute(
            f"SELECT {COLUMNS} FROM actions ORDER BY id LIMIT ?", (sizes.compared,)
        ).fetchall()
        dbapi.execute(RAW_TABLE)
        for ddl in RAW_INDEXES:
            dbapi.execute(ddl)
        task = progress.add_task("raw.insert.actions", total=len(rows))
        spent = 0.0
        for offset in range(0, len(rows), sizes.batch):
            chunk = rows[offset : offset + sizes.batch]
            began = perf_counter()
            dbapi.execute("BEGIN IMMEDIATE")
            dbapi.executemany(RAW_INSERT, chunk)
            dbapi.execute("COMMIT")
            spent += perf_counter() - began
            progress.advance(task, len(chunk))
        dbapi.execute("DROP TABLE raw_actions")
    finally:
        raw.close()
    return spent


def timed_traces(engine: Engine, sizes: ActionSizes, progress: Progress) -> dict[str, Any]:
    """p50 / p95 of trace by credential (everything) and by system over the last 24 hours."""
    rng = random.Random(7)
    last = EPOCH + timedelta(seconds=sizes.records)
    task = progress.add_task("actions.trace", total=2 * TRACE_SAMPLES)
    by_credential, by_system = [], []
    with Session(engine) as session:
        for _ in range(TRACE_SAMPLES):
            index = rng.randrange(sizes.systems)
            began = perf_counter()
            found = trace(session, credential_id=f"agent-{index:04d}-key", limit=100)
            by_credential.append((perf_counter() - began) * 1000)
            if found["count"] != sizes.records // sizes.systems:
                raise RuntimeError(f"trace missed actions: {found['count']}")
            began = perf_counter()
            trace(session, system_id=f"agent-{index:04d}", since=last - timedelta(hours=24))
            by_system.append((perf_counter() - began) * 1000)
            progress.advance(task, 2)
    return {
        "actions.trace.credential": _latency(by_credential, sizes.records // sizes.systems),
        "actions.trace.system_24h": _latency(by_system, 86_400 // sizes.systems),
    }


def _latency(samples: list[float], actions: int) -> dict[str, float | int]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(percentile(ordered, 50), 2),
        "p95_ms": round(percentile(ordered, 95), 2),
        "samples": len(samples),
        "actions_per_trace": actions,
    }


def run_actions(tmp: Path, sizes: ActionSizes, progress: Progress) -> Figures:
    """Fill the action ledger, compare ingest with raw inserts, verify, trace."""
    engine = make_engine(f"sqlite:///{tmp / 'actions.db'}")
    init_db(engine)
    with Session(engine) as session:
        for index in range(sizes.systems):
            upsert_system(session, view=_view(index))
        session.commit()
    compared = timed_ingest(engine, sizes, 0, sizes.compared, progress, "actions.ingest")
    raw = timed_raw(engine, sizes, progress)
    rest = timed_ingest(engine, sizes, sizes.compared, sizes.records, progress, "actions.fill")
    runs = []
    for _ in range(VERIFY_RUNS):  # the median run: the first one also spawns the verifier pool
        began = perf_counter()
        report = verify_actions(engine)
        runs.append(perf_counter() - began)
        if not report.ok or report.entries_checked != sizes.records:
            raise RuntimeError(f"the action ledger did not verify: {report.model_dump()}")
    verify = sorted(runs)[len(runs) // 2]
    figures: Figures = {
        "actions.ingest": rate(sizes.compared, compared, batch_entries=sizes.batch),
        "raw.insert.actions": rate(sizes.compared, raw, batch_entries=sizes.batch),
        "actions.ingest.fill": rate(sizes.records - sizes.compared, rest),
        "actions.verify": rate(sizes.records, verify, chains=sizes.systems),
        **timed_traces(engine, sizes, progress),
    }
    engine.dispose()
    return figures


if __name__ == "__main__":
    import sys
    import tempfile

    from rich.console import Console

    from bench.report import action_rows, table

    chosen = ACTIONS_QUICK if "--quick" in sys.argv else ACTIONS_FULL
    console = Console(width=140)
    with (
        tempfile.TemporaryDirectory(prefix="threshold-bench-") as tmp,
        Progress(console=console) as bar,
    ):
        results = run_actions(Path(tmp), chosen, bar)
    console.print(table(action_rows(results), "Action ledger"))
    console.print_json(json.dumps(results))
