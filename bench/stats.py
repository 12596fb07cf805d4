"""Timing helpers: run an operation N times at a concurrency and summarise its latencies."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from rich.progress import Progress

Operation = Callable[[int], Awaitable[Any]]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Measure:
    """`count` operations that took `seconds` of wall time, with each one's latency in ms."""

    count: int
    concurrency: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        """Operations per second of wall time."""
        return self.count / self.seconds if self.seconds else 0.0

    @property
    def p50(self) -> float:
        """Median latency in ms."""
        return percentile(self.latencies_ms, 50)

    @property
    def p95(self) -> float:
        """95th-percentile latency in ms."""
        return percentile(self.latencies_ms, 95)

    @property
    def p99(self) -> float:
        """99th-percentile latency in ms."""
        return percentile(self.latencies_ms, 99)

    def summary(self) -> dict[str, float | int]:
        """The figures worth keeping (no raw samples, so results stay small)."""
        return {
            "count": self.count,
            "concurrency": self.concurrency,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.rate, 1),
            "p50_ms": round(self.p50, 2),
            "p95_ms": round(self.p95, 2),
            "p99_ms": round(self.p99, 2),
            "max_ms": round(max(self.latencies_ms), 2),
        }


async def run_concurrent(
    op: Operation,
    count: int,
    concurrency: int,
    progress: Progress,
    label: str,
    think: float = 0.0,
) -> Measure:
    """Call `op(0..count-1)` from `concurrency` lanes sharing one queue of indexes.

    `think` seconds pass after each call in a lane (untimed, and taken out of `seconds`).
    """
    task = progress.add_task(label, total=count)
    indexes = iter(range(count))
    latencies: list[float] = []

    async def lane() -> None:
        for index in indexes:
            began = perf_counter()
            await op(index)
            latencies.append((perf_counter() - began) * 1000)
            progress.advance(task)
            if think:
                await asyncio.sleep(think)

    lanes = max(1, min(concurrency, count))
    began = perf_counter()
    await asyncio.gather(*(lane() for _ in range(lanes)))
    seconds = perf_counter() - began - think * count / lanes
    progress.update(task, description=f"{label} [dim]{count / seconds:,.0f}/s[/dim]")
    return Measure(count=count, concurrency=lanes, seconds=seconds, latencies_ms=latencies)


async def run_sequential(
    op: Operation, count: int, progress: Progress, label: str, think: float = 0.0
) -> Measure:
    """Call `op` one at a time: latency without queueing.

    With `think`, a person's pace: each call meets a system that has finished the follow-up
    work of the previous one.
    """
    return await run_concurrent(op, count, 1, progress, label, think)
