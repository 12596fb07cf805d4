"""Authorize before acting: p50/p99 at a paced 500 req/s beside the `/healthz` floor, and how
long a containment takes to be visible to `POST /api/v1/authorize`."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from time import perf_counter
from typing import Any

from sqlmodel import Session

from bench.common import REQUESTER
from bench.stack import BenchStack
from bench.stats import Measure
from db.engine import get_engine
from db.tokens import issue_token

API = "/api/v1"
RATE = 500.0
CONCURRENCY = 32
ADMIN = "bench-admin@threshold.local"


async def paced(op: Any, count: int, rate: float = RATE) -> Measure:
    """`count` calls started at `rate` per second (open loop), each one's latency."""
    latencies: list[float] = []

    async def one() -> None:
        began = perf_counter()
        await op()
        latencies.append((perf_counter() - began) * 1000)

    began = perf_counter()
    tasks = []
    for n in range(count):
        delay = began + n / rate - perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    return Measure(count, 0, perf_counter() - began, latencies)


async def flat_out(op: Any, count: int, concurrency: int = CONCURRENCY) -> Measure:
    """`count` calls from `concurrency` closed-loop clients: the most the server answers."""
    latencies: list[float] = []
    left = iter(range(count))

    async def lane() -> None:
        for _ in left:
            began = perf_counter()
            await op()
            latencies.append((perf_counter() - began) * 1000)

    began = perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return Measure(count, concurrency, perf_counter() - began, latencies)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used (from /proc; gone ones count 0)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def settled(stack: BenchStack, limit: float = 60.0) -> float:
    """Wait until the stack's processes use under 10% of a core (the earlier figures' follow-up
    work done, so the floor and authorize meet the same quiet machine); the seconds waited."""
    began = perf_counter()
    while perf_counter() - began < limit:
        before = cpu_seconds(stack.pids)
        await asyncio.sleep(1.0)
        if cpu_seconds(stack.pids) - before < 0.1:
            break
    return perf_counter() - began


async def run_authorize(stack: BenchStack, count: int) -> dict[str, dict[str, float | int]]:
    """`raw.healthz`, `threshold.authorize` (paced at 500/s), their `.concurrent` closed-loop
    throughput (32 clients) and `threshold.authorize.containment_visible`."""
    http, headers = stack.http, stack.auth(REQUESTER)
    listed = await http.get(f"{API}/systems?state=production&limit=1", headers=headers)
    system = listed.json()["items"][0]["id"]
    view = (await http.get(f"{API}/systems/{system}", headers=headers)).json()
    caps = view["approved_manifest"]["capabilities"]
    body = {"system": system, "environment": "production", "access": "read", "trace_id": "bench"}
    body |= {"tool": caps["tools"][0]} if caps["tools"] else {"tool": "none"}

    async def healthz() -> None:
        assert (await http.get("/healthz")).status_code == 200

    async def authorize() -> None:
        response = await http.post(f"{API}/authorize", json=body, headers=headers)
        assert response.status_code == 200, response.text

    await settled(stack)
    await paced(authorize, 200)  # warm-up
    results = {
        "raw.healthz": (await paced(healthz, count)).summary(),
        "threshold.authorize": (await paced(authorize, count)).summary(),
        "raw.healthz.concurrent": (await flat_out(healthz, count)).summary(),
        "threshold.authorize.concurrent": (await flat_out(authorize, count)).summary(),
    }
    with Session(get_engine(stack.settings.database_url)) as session:
        _, token = issue_token(session, principal=ADMIN, role="admin")
        session.commit()
    admin = {"Authorization": f"Bearer {token}"}
    began = perf_counter()
    contained = await http.post(
        f"{API}/systems/{system}/contain", json={"reason": "bench"}, headers=admin
    )
    assert contained.status_code == 200, contained.text
    answered = perf_counter()
    while True:
        response = await http.post(f"{API}/authorize", json=body, headers=headers)
        if response.json()["decision"] == "deny":
            break
        await asyncio.sleep(0.005)
    seen = perf_counter()
    results["threshold.authorize.containment_visible"] = {
        "count": 1,
        "visible_ms": round((seen - began) * 1000, 1),
        "after_contain_answered_ms": round((seen - answered) * 1000, 1),
    }
    return results
