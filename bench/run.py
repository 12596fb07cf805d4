"""`python -m bench.run [--quick]`: every figure in one run on one Temporal dev server.

Prints the environment and a table (Threshold vs the raw baseline, ratio, target, PASS/MISS)
and writes `bench/results/latest.json`. Leaves with `os._exit`: the Temporal bridge can abort
interpreter finalisation after a green run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import traceback
from pathlib import Path
from time import perf_counter
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.actions import ACTIONS_FULL, ACTIONS_QUICK, run_actions
from bench.authorize import run_authorize
from bench.estate import run_estate
from bench.ledger import LEDGER_FULL, LEDGER_QUICK, run_ledger
from bench.report import environment, print_report, write_json
from bench.scenarios import FULL, QUICK, Scenarios
from bench.stack import EXECUTOR_THREADS, bench_stack, start_dev_server
from core.up import Layout
from db.verify import shutdown_verifiers

console = Console(width=120)


def progress_bar() -> Progress:
    """Progress for long phases (rich), refreshed slowly to stay out of the measurements."""
    return Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        refresh_per_second=4,
    )


ESTATE_FULL, ESTATE_QUICK = 10_000, 500


async def measure(quick: bool, tmp: Path, estate: int, layout: Layout) -> dict[str, Any]:
    """The ledger figures first (no server running), then everything on one dev server.

    The estate figure (`estate` live systems) comes last: it leaves the server loaded."""
    sizes, ledger_sizes = (QUICK, LEDGER_QUICK) if quick else (FULL, LEDGER_FULL)
    with progress_bar() as progress:
        results: dict[str, Any] = run_ledger(tmp, ledger_sizes, progress)
        results |= run_actions(tmp, ACTIONS_QUICK if quick else ACTIONS_FULL, progress)
        env = await start_dev_server(tmp)
        try:
            async with bench_stack(env, tmp, layout) as stack:
                results |= await Scenarios(stack, sizes, progress).run()
                results |= await run_authorize(stack, 2_500 if quick else 15_000)
                if estate:
                    results |= await run_estate(stack, estate, progress)
        finally:
            await env.shutdown()
    return {
        "mode": "quick" if quick else "full",
        "environment": environment(),
        "config": {
            "sizes": sizes.__dict__,
            "ledger": ledger_sizes.__dict__,
            "actions": (ACTIONS_QUICK if quick else ACTIONS_FULL).__dict__,
            "estate_systems": estate,
            "activity_executor_threads": EXECUTOR_THREADS,
            "api_processes": layout.api_processes,
            "worker_processes": layout.workers,
            "database": "SQLite (temporary file)",
            "temporal_persistence": "dev server --db-filename (temporary file)",
        },
        "results": results,
    }


def main() -> None:
    """Parse arguments, run, print, write, and leave with the right status."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (~1 minute)")
    parser.add_argument(
        "--systems",
        type=int,
        default=None,
        help=f"live systems for the estate figure ({ESTATE_FULL:,}; quick {ESTATE_QUICK}; 0 skips)",
    )
    parser.add_argument(
        "--api-processes", type=int, default=1, help="API processes, as `threshold up` (1)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes, as `threshold up` (1)"
    )
    args = parser.parse_args()
    layout = Layout(api_processes=max(1, args.api_processes), workers=max(1, args.workers))
    estate = (
        args.systems if args.systems is not None else (ESTATE_QUICK if args.quick else ESTATE_FULL)
    )
    logging.basicConfig(level=logging.WARNING)
    status = 0
    began = perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="threshold-bench-") as tmp:
            payload = asyncio.run(measure(args.quick, Path(tmp), estate, layout))
        rows = print_report(console, payload)
        path = write_json(payload, rows)
        console.print(f"wrote {path} in {perf_counter() - began:.0f} s")
    except Exception:
        traceback.print_exc()
        status = 1
    shutdown_verifiers()  # os._exit skips atexit: stop the ledger verifier processes first
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
