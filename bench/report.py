"""The environment, the results table (figures, ratios, targets) and `results/latest.json`."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from core.temporal import venv_binary

RESULTS = Path(__file__).resolve().parent / "results"
Figures = dict[str, dict[str, Any]]


def environment() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")),
        platform.processor() or "unknown",
    )
    server = subprocess.run(
        [str(venv_binary("temporal")), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "temporalio": version("temporalio"),
        "temporal_cli": server,
        "sqlite": sqlite3.sqlite_version,
        "fastapi": version("fastapi"),
        "uvicorn": version("uvicorn"),
        "uvicorn_http": "httptools" if importlib.util.find_spec("httptools") else "h11",
        "event_loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "httpx": version("httpx"),
        "sqlalchemy": version("sqlalchemy"),
        "pydantic": version("pydantic"),
    }


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


@dataclass(frozen=True)
class Row:
    """One line of the table: Threshold's figure, the raw one, their ratio, and the verdict."""

    figure: str
    threshold: str
    raw: str
    ratio: float | None
    target: str = ""
    passed: bool | None = None  # None: informational

    @property
    def verdict(self) -> str:
        """PASS / MISS / info."""
        if self.passed is None:
            return "[dim]info[/dim]"
        return "[green]PASS[/green]" if self.passed else "[red]MISS[/red]"


def per_s(value: float) -> str:
    """A rate for people."""
    return f"{value:,.0f}/s" if value >= 100 else f"{value:,.1f}/s"


def ms(value: float) -> str:
    """A latency for people."""
    return f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def pair(figures: dict[str, Any]) -> str:
    """p50 / p99 of a measure."""
    return f"{ms(figures['p50_ms'])} / {ms(figures['p99_ms'])}"


def ratio(a: float, b: float) -> float | None:
    """a/b, or None when b is zero."""
    return a / b if b else None


def temporal_rows(r: Figures) -> list[Row]:
    """Figures 1 to 3."""
    reg, start, uws = r["threshold.register"], r["raw.start_workflow"], r["raw.update_with_start"]
    seq, raw_seq = r["threshold.decide.sequential"], r["raw.update.sequential"]
    conc, raw_conc = r["threshold.decide.concurrent"], r["raw.update.concurrent"]
    closing, promote = r["threshold.decide.closing"], r["threshold.promote"]
    gate, query, floor = (
        r["threshold.gate.sequential"],
        r["raw.query.sequential"],
        r["http.healthz.sequential"],
    )
    click, raw_click = r["slack.click.sequential"], r["raw.update.sequential.clicks"]
    click_ratio = ratio(click["p99_ms"], raw_click["p99_ms"])
    closing_ratio = ratio(closing["p50_ms"], raw_conc["p50_ms"])
    promote_ratio = ratio(promote["per_second"], raw_conc["per_second"])
    loaded = r.get("threshold.gate.loaded")
    reg_ratio = ratio(reg["per_second"], start["per_second"])
    p99_ratio = ratio(seq["p99_ms"], raw_seq["p99_ms"])
    return [
        Row(
            "1 Registrations/s vs start_workflow/s (c=32)",
            per_s(reg["per_second"]),
            per_s(start["per_second"]),
            reg_ratio,
            "≥ 0.80x",
            reg_ratio is not None and reg_ratio >= 0.8,
        ),
        Row(
            "  … vs raw update-with-start/s (c=32)",
            per_s(reg["per_second"]),
            per_s(uws["per_second"]),
            ratio(reg["per_second"], uws["per_second"]),
        ),
        Row(
            "  latency p50 / p99 at c=32 (vs start)",
            pair(reg),
            pair(start),
            ratio(reg["p99_ms"], start["p99_ms"]),
        ),
        Row(
            "2 Decision vs update p50 (back to back)",
            ms(seq["p50_ms"]),
            ms(raw_seq["p50_ms"]),
            ratio(seq["p50_ms"], raw_seq["p50_ms"]),
        ),
        Row(
            "  Decision vs update p99 (back to back)",
            ms(seq["p99_ms"]),
            ms(raw_seq["p99_ms"]),
            p99_ratio,
        ),
        Row(
            "  Decisions/s vs updates/s (c=32)",
            per_s(conc["per_second"]),
            per_s(raw_conc["per_second"]),
            ratio(conc["per_second"], raw_conc["per_second"]),
        ),
        Row(
            "  Closing decision p50 / p99 (c=32), rate",
            f"{pair(closing)}, {per_s(closing['per_second'])}",
            pair(raw_conc),
            closing_ratio,
            "p50 ≤ 3x",
            closing_ratio is not None and closing_ratio <= 3,
        ),
        Row(
            "  Promotion requests/s (c=32)",
            per_s(promote["per_second"]),
            per_s(raw_conc["per_second"]),
            promote_ratio,
            "≥ 0.50x",
            promote_ratio is not None and promote_ratio >= 0.5,
        ),
        Row(
            "  Slack click → decision p50 (250 ms apart)",
            ms(click["p50_ms"]),
            ms(raw_click["p50_ms"]),
            ratio(click["p50_ms"], raw_click["p50_ms"]),
        ),
        Row(
            "  Slack click → decision p99 (250 ms apart)",
            ms(click["p99_ms"]),
            ms(raw_click["p99_ms"]),
            click_ratio,
            "< 100 ms",
            click["p99_ms"] < 100,
        ),
        Row(
            "3 Gate check vs query p50 (sequential)",
            ms(gate["p50_ms"]),
            ms(query["p50_ms"]),
            ratio(gate["p50_ms"], query["p50_ms"]),
        ),
        Row(
            "  Gate check vs query p99 (sequential)",
            ms(gate["p99_ms"]),
            ms(query["p99_ms"]),
            ratio(gate["p99_ms"], query["p99_ms"]),
        ),
        Row("  HTTP floor GET /healthz p50 / p99", pair(floor), "", None),
        *(
            [
                Row(
                    "  Gate p50 / p99 while events arrive (16 + 16 clients)",
                    pair(loaded),
                    "",
                    None,
                    "p99 < 250 ms",
                    loaded["p99_ms"] < 250,
                )
            ]
            if loaded
            else []
        ),
        *event_rows(r),
    ]


def event_rows(r: Figures) -> list[Row]:
    """Figure 5: scope-change events through HTTP."""
    event, update = r["threshold.event.concurrent"], r["raw.update.events"]
    signal, resent = r["raw.signal.events"], r["threshold.event.resent"]
    event_ratio = ratio(event["per_second"], update["per_second"])
    return [
        Row(
            f"5 Scope-change events/s vs updates/s (c=32, {event['count']:,} events)",
            per_s(event["per_second"]),
            per_s(update["per_second"]),
            event_ratio,
            "≥ 0.80x",
            event_ratio is not None and event_ratio >= 0.8,
        ),
        Row(
            "  … vs raw signals/s (c=32)",
            per_s(event["per_second"]),
            per_s(signal["per_second"]),
            ratio(event["per_second"], signal["per_second"]),
        ),
        Row(
            "  Re-sent events/s (all acknowledged as duplicates)",
            per_s(resent["per_second"]),
            per_s(update["per_second"]),
            ratio(resent["per_second"], update["per_second"]),
        ),
    ]


def ledger_rows(r: Figures) -> list[Row]:
    """Figure 4."""
    verify, append, raw = r["audit.verify"], r["audit.append"], r["raw.insert"]
    indexed = r["raw.insert.indexed"]
    small, small_raw = r["audit.append.small"], r["raw.insert.small"]
    append_ratio = ratio(append["per_second"], indexed["per_second"])
    batch = int(append["batch_entries"])
    return [
        Row(
            f"4 Audit verify ({verify['entries']:,} entries, {verify['chains']:,} chains)",
            per_s(verify["per_second"]),
            "",
            None,
            "≥ 500,000/s",
            verify["per_second"] >= 500_000,
        ),
        Row(
            f"  Audit append vs raw insert, same table shape ({batch:,}/txn)",
            per_s(append["per_second"]),
            per_s(indexed["per_second"]),
            append_ratio,
            "≥ 0.50x",
            append_ratio is not None and append_ratio >= 0.5,
        ),
        Row(
            f"  Audit append vs raw insert, bare table ({batch:,}/txn)",
            per_s(append["per_second"]),
            per_s(raw["per_second"]),
            ratio(append["per_second"], raw["per_second"]),
        ),
        Row(
            "  Audit append vs raw insert (2/txn)",
            per_s(small["per_second"]),
            per_s(small_raw["per_second"]),
            ratio(small["per_second"], small_raw["per_second"]),
        ),
    ]


def action_rows(r: Figures) -> list[Row]:
    """Figure 6 as report rows."""
    ingest, raw, verify = r["actions.ingest"], r["raw.insert.actions"], r["actions.verify"]
    by_credential, by_system = r["actions.trace.credential"], r["actions.trace.system_24h"]
    ingest_ratio = ratio(ingest["per_second"], raw["per_second"])
    return [
        Row(
            f"6 Action ingest (checks + chain) vs raw insert, same shape ({int(ingest['batch_entries']):,}/txn)",
            per_s(ingest["per_second"]),
            per_s(raw["per_second"]),
            ingest_ratio,
            "≥ 0.50x",
            ingest_ratio is not None and ingest_ratio >= 0.5,
        ),
        Row(
            f"  Action ingest while the ledger grows to {verify['entries']:,}",
            per_s(r["actions.ingest.fill"]["per_second"]),
            "",
            None,
        ),
        Row(
            f"  Action ledger verify ({verify['entries']:,} entries)",
            per_s(verify["per_second"]),
            "",
            None,
        ),
        Row(
            f"  Trace by credential p50 / p95 ({by_credential['actions_per_trace']:,} actions each)",
            f"{ms(by_credential['p50_ms'])} / {ms(by_credential['p95_ms'])}",
            "",
            None,
        ),
        Row(
            "  Trace by system, last 24 h, p50 / p95",
            f"{ms(by_system['p50_ms'])} / {ms(by_system['p95_ms'])}",
            "",
            None,
        ),
    ]


def throughput_row(r: Figures) -> list[Row]:
    """Authorize's closed-loop throughput (32 clients) against the /healthz floor's."""
    auth, floor = r.get("threshold.authorize.concurrent"), r.get("raw.healthz.concurrent")
    if not auth or not floor:
        return []
    share = ratio(auth["per_second"], floor["per_second"])
    return [
        Row(
            "  authorize throughput, 32 clients (vs /healthz)",
            per_s(auth["per_second"]),
            per_s(floor["per_second"]),
            share,
            ">= 0.50x",
            share is not None and share >= 0.5,
        )
    ]


def authorize_rows(r: Figures) -> list[Row]:
    """Authorize before acting: p50 / p99 at 500 req/s vs /healthz, and containment visible."""
    auth, floor = r.get("threshold.authorize"), r.get("raw.healthz")
    if not auth or not floor:
        return []
    seen = r["threshold.authorize.containment_visible"]["visible_ms"]
    return [
        Row(
            "A authorize p50 / p99 at 500 req/s (vs /healthz)",
            pair(auth),
            pair(floor),
            ratio(auth["p99_ms"], floor["p99_ms"]),
            "p99 < 5 ms",
            auth["p99_ms"] < 5,
        ),
        Row(
            "  authorize throughput (paced)",
            per_s(auth["per_second"]),
            per_s(floor["per_second"]),
            None,
        ),
        *throughput_row(r),
        Row("  containment visible to authorize", ms(seen), "", None, "< 1000 ms", seen < 1000),
    ]


def estate_rows(r: Figures) -> list[Row]:
    """Figure 7: N live systems, the worker's memory and the dashboard's p95."""
    estate = r.get("estate")
    if not estate:
        return []
    rss = estate["rss_after_bytes"]
    live, total = estate.get("live_systems", estate["systems"]), estate["systems"]
    seeded = f" ({total - live:,} more seeded in the projection)" if total > live else ""
    rows = [
        Row(
            f"7 Worker RSS with {live:,} live systems (largest worker process){seeded}",
            f"{rss / 2**20:,.0f} MiB",
            f"{estate['rss_before_bytes'] / 2**20:,.0f} MiB before",
            None,
            "< 1 GiB",
            rss < estate["rss_target_bytes"],
        )
    ]
    for label, figures in estate["pages"].items():
        rows.append(
            Row(
                f"  dashboard {label} p50 / p95, {total:,} systems",
                f"{ms(figures['p50_ms'])} / {ms(figures['p95_ms'])}",
                "",
                None,
                "p95 < 100 ms",
                figures["p95_ms"] < 100,
            )
        )
    return rows


def table(rows: list[Row], title: str) -> Table:
    """The results as a rich table."""
    out = Table(title=title, title_justify="left")
    for name, justify in (
        ("Figure", "left"),
        ("Threshold", "right"),
        ("Raw baseline", "right"),
        ("Ratio", "right"),
        ("Target", "left"),
        ("", "left"),
    ):
        out.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        shown = f"{row.ratio:.2f}x" if row.ratio is not None else ""
        out.add_row(row.figure, row.threshold, row.raw, shown, row.target, row.verdict)
    return out


def env_table(env: dict[str, Any]) -> Table:
    """The environment as a two-column table."""
    out = Table(title="Environment", title_justify="left", show_header=False)
    for key, value in env.items():
        out.add_row(key, str(value))
    return out


def write_json(payload: dict[str, Any], rows: list[Row]) -> Path:
    """Write results/latest.json: environment, sizes, every figure and each target's verdict."""
    RESULTS.mkdir(exist_ok=True)
    checks = [
        {
            "figure": row.figure.strip(),
            "threshold": row.threshold,
            "raw": row.raw,
            "ratio": round(row.ratio, 3) if row.ratio is not None else None,
            "target": row.target,
            "passed": row.passed,
        }
        for row in rows
        if row.passed is not None
    ]
    document = {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"), **payload}
    document["checks"] = checks
    path = RESULTS / "latest.json"
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    return path


def print_report(console: Console, payload: dict[str, Any]) -> list[Row]:
    """Print the tables; return the rows (for the JSON checks)."""
    results = payload["results"]
    rows = temporal_rows(results) + ledger_rows(results)
    if "actions.ingest" in results:
        rows += action_rows(results)
    rows += authorize_rows(results) + estate_rows(results)
    console.print(env_table(payload["environment"]))
    console.print(table(rows, f"Threshold benchmark ({payload['mode']})"))
    return rows
