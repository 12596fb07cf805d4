"""Figure 6: the estate at scale. N live systems registered through HTTP, then the worker's
resident memory and the dashboard's page latencies (estate pages, filters, system pages).

`python -m bench.estate [--systems N] [--live L]` runs it alone on its own dev server;
`bench.run` includes it (N = 10,000 in the full run). The workers run in their own processes
(`python -m core.serve worker`); the figure is the largest one's RSS, read from /proc.

`--live L` (L < N) registers only L live systems and fills the projection up to N rows with
copies of one live system's stored view (`seeded-*` ids, no workflow behind them): the estate
pages then read N rows while the worker holds L workflows. For machines where registering N
systems takes too long; the result says which figures came from how many live systems.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import re
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

import httpx
from rich.progress import Progress
from sqlmodel import Session

from bench.common import BUSINESS
from bench.scenarios import JSON, expect, manifest_bodies
from bench.stack import BenchStack
from bench.stats import Measure, run_concurrent
from core.settings import Settings
from db.engine import get_engine
from db.projection import upsert_system
from db.queries import get_system

PREFIX = "estate-"
SEEDED = "seeded-"
SEED_BATCH = 500
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SAMPLES = 40  # sequential samples per page kind
GIB = 1024**3


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process (VmRSS in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


async def register_all(stack: BenchStack, count: int, progress: Progress) -> Measure:
    """Register `count` systems through the API, 32 at a time."""
    bodies = manifest_bodies(PREFIX, count)
    headers = {**stack.auth(BUSINESS), **JSON}

    async def register(index: int) -> None:
        response = await stack.http.post("/api/v1/systems", content=bodies[index], headers=headers)
        expect(response, 201)

    return await run_concurrent(register, count, 32, progress, f"register {count:,} systems")


async def projected(stack: BenchStack, count: int) -> float:
    """Wait until the projection lists every registered system; the seconds it took."""
    timeout = 120 + count * 0.5  # the worker's first task per system lags the starts
    began = asyncio.get_running_loop().time()
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        page = await stack.http.get(
            "/api/v1/systems", params={"q": PREFIX, "limit": 1}, headers=stack.auth(BUSINESS)
        )
        if expect(page, 200)["total"] >= count:
            return asyncio.get_running_loop().time() - began
        await asyncio.sleep(0.5)
    raise RuntimeError(f"the projection did not reach {count} systems in {timeout:.0f} s")


async def signed_in(stack: BenchStack) -> httpx.AsyncClient:
    """A dashboard visitor signed in as the business owner (cookie session)."""
    http = httpx.AsyncClient(base_url=str(stack.http.base_url), timeout=60)
    form = await http.get("/signin")
    token = CSRF.search(form.text)
    assert token is not None
    done = await http.post(
        "/signin", data={"token": stack.tokens[BUSINESS], "csrf_token": token.group(1)}
    )
    if done.status_code != 303:
        raise RuntimeError(f"dashboard sign-in failed: {done.status_code} {done.text[:200]}")
    return http


def seed_projection(settings: Settings, count: int) -> None:
    """Add `count` projection rows copied from the first live system's view (no workflows)."""
    engine = get_engine(settings.database_url)
    with Session(engine) as session:
        template = get_system(session, system_id=f"{PREFIX}0")
    if template is None:
        raise RuntimeError(f"{PREFIX}0 is not in the projection")
    for start in range(0, count, SEED_BATCH):
        with Session(engine) as session:
            for n in range(start, min(count, start + SEED_BATCH)):
                sid = f"{SEEDED}{n}"
                manifest = template.manifest.model_copy(update={"id": sid, "name": f"Seeded {n}"})
                view = template.model_copy(update={"system_id": sid, "manifest": manifest})
                upsert_system(session, view=view)
            session.commit()


def page_paths(count: int, live: int) -> dict[str, list[str]]:
    """The pages measured: estate at several offsets and filters, and (live) system pages."""
    last = max(1, -(-count // 50))
    ids = random.Random(7).sample(range(live), min(SAMPLES, live))
    return {
        "estate page 1": ["/"],
        "estate middle and last pages": [f"/?page={max(1, last // 2)}", f"/?page={last}"],
        "estate filtered (tier, state, owner, search, overdue)": [
            "/?tier=medium",
            "/?state=pilot&page=3",
            f"/?owner={BUSINESS}",
            f"/?q={PREFIX}{count // 3}",
            "/?overdue=true",
        ],
        "system page": [f"/systems/{PREFIX}{n}" for n in ids],
    }


async def measure_pages(
    http: httpx.AsyncClient, count: int, live: int, progress: Progress
) -> dict[str, Any]:
    """p50/p95 of each page kind, one request at a time (a person's browser)."""
    figures: dict[str, Any] = {}
    for label, paths in page_paths(count, live).items():

        async def fetch(index: int, paths: list[str] = paths) -> None:
            response = await http.get(paths[index % len(paths)])
            if response.status_code != 200:
                raise RuntimeError(f"{response.request.url} → {response.status_code}")

        await fetch(0)  # warm
        figures[label] = (await run_concurrent(fetch, SAMPLES, 1, progress, label)).summary()
    return figures


def worker_rss(stack: BenchStack) -> int:
    """The largest resident set among Threshold's worker processes."""
    return max(rss_bytes(pid) for pid in stack.worker_pids)


async def run_estate(
    stack: BenchStack, count: int, progress: Progress, live: int | None = None
) -> dict[str, Any]:
    """Register, wait for the projection, then memory and page latencies."""
    live = count if live is None else min(live, count)
    before = worker_rss(stack)
    registered = await register_all(stack, live, progress)
    catch_up = await projected(stack, live)
    after = worker_rss(stack)
    if count > live:
        await asyncio.to_thread(seed_projection, stack.settings, count - live)
    http = await signed_in(stack)
    try:
        pages = await measure_pages(http, count, live, progress)
    finally:
        await http.aclose()
    return {
        "estate": {
            "systems": count,
            "live_systems": live,
            "registration": registered.summary(),
            "projection_catch_up_seconds": round(catch_up, 1),
            "rss_before_bytes": before,
            "rss_after_bytes": after,
            "rss_target_bytes": GIB,
            "pages": pages,
        }
    }


async def standalone(count: int, live: int | None, tmp: Path) -> dict[str, Any]:
    """Only this figure, on its own dev server."""
    from bench.run import progress_bar
    from bench.stack import bench_stack, start_dev_server

    with progress_bar() as progress:
        env = await start_dev_server(tmp)
        try:
            async with bench_stack(env, tmp) as stack:
                return await run_estate(stack, count, progress, live)
        finally:
            await env.shutdown()


def main() -> None:
    """`python -m bench.estate --systems N`: print the figures; leave with os._exit."""
    parser = argparse.ArgumentParser(prog="python -m bench.estate", description=__doc__)
    parser.add_argument("--systems", type=int, default=10_000, help="systems (10,000)")
    parser.add_argument(
        "--live", type=int, default=None, help="of which live (default: all; rest seeded)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    status = 0
    try:
        from bench.report import estate_rows, table
        from bench.run import console

        with tempfile.TemporaryDirectory(prefix="threshold-estate-") as tmp:
            results = asyncio.run(standalone(args.systems, args.live, Path(tmp)))
        console.print(table(estate_rows(results), "Estate at scale"))
        console.print_json(data=results)
    except Exception:
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
