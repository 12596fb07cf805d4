"""Faults of what Threshold depends on, as answers: a 503 naming what is down, in bounded time.

`DependencyUnavailable` is the one exception; `api.errors` renders it as `503` JSON with
`Retry-After`. `temporal_call` bounds a block of Temporal calls by `temporal.rpc_timeout`
(the SDK retries an unreachable server on its own for much longer) and, when the block times
out, asks the task queue whether any worker polls it, so the answer says which part is down:
Temporal itself, or the worker. A caller retrying with the same `Idempotency-Key` gets the
command's one answer, so a 503 is always safe to retry.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy.exc import DBAPIError
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, RPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from core.settings import TemporalSettings

RETRY_AFTER_SECONDS = 2
POLLERS_CACHE_SECONDS = 2.0
DESCRIBE_TIMEOUT_SECONDS = 1.0
# A live worker long-polls (up to a minute per poll); one not seen for longer has stopped.
POLLER_STALE_SECONDS = 75.0
SILENT = frozenset({RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED})
TRANSIENT = SILENT | {RPCStatusCode.UNAVAILABLE, RPCStatusCode.RESOURCE_EXHAUSTED}


class DependencyUnavailable(Exception):
    """A dependency (`temporal`, `database`) cannot answer now; retry after `retry_after` s."""

    def __init__(
        self, dependency: str, message: str, retry_after: int = RETRY_AFTER_SECONDS
    ) -> None:
        super().__init__(message)
        self.dependency = dependency
        self.message = message
        self.retry_after = retry_after


_pollers: dict[str, tuple[float, int | None]] = {}


async def live_pollers(client: Client, task_queue: str) -> int | None:
    """Workers polling `task_queue` lately (cached briefly), or None when Temporal is silent."""
    now = time.monotonic()
    hit = _pollers.get(task_queue)
    if hit is not None and hit[0] > now:
        return hit[1]
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    count: int | None
    try:
        async with asyncio.timeout(DESCRIBE_TIMEOUT_SECONDS):
            answer = await client.workflow_service.describe_task_queue(
                request, timeout=timedelta(seconds=DESCRIBE_TIMEOUT_SECONDS)
            )
        cutoff = time.time() - POLLER_STALE_SECONDS
        count = sum(1 for p in answer.pollers if p.last_access_time.ToSeconds() >= cutoff)
    except (TimeoutError, RPCError):
        count = None
    _pollers[task_queue] = (now + POLLERS_CACHE_SECONDS, count)
    return count


TASK_FAILING = "Workflow Task in failed state"
"""What Temporal answers a query when the workflow's last task failed in the worker."""


def task_failing(exc: RPCError) -> bool:
    """The workflow asked is stuck on a failing task (a worker bug or outage), not bad input."""
    return exc.status is RPCStatusCode.FAILED_PRECONDITION and TASK_FAILING in exc.message


def worker_failing(settings: TemporalSettings) -> DependencyUnavailable:
    """The worker fails the workflow's tasks: Temporal retries them; the answer waits on it."""
    return DependencyUnavailable(
        "worker",
        f"the worker on task queue {settings.task_queue} is failing this workflow's tasks "
        "(see the worker log); Temporal retries them: retry shortly",
    )


def temporal_down(settings: TemporalSettings, why: str) -> DependencyUnavailable:
    """Temporal itself does not answer."""
    return DependencyUnavailable(
        "temporal", f"Temporal at {settings.address} is unavailable ({why}); retry shortly"
    )


async def timed_out(client: Client, settings: TemporalSettings) -> DependencyUnavailable:
    """A block timed out: say whether the worker or Temporal is missing."""
    pollers = await live_pollers(client, settings.task_queue)
    seconds = f"{settings.rpc_timeout:g} s"
    if pollers is None:
        return temporal_down(settings, f"no answer within {seconds}")
    if pollers == 0:
        return DependencyUnavailable(
            "worker",
            f"no worker is processing task queue {settings.task_queue!r}: start one "
            f"(`python worker.py`) and retry; nothing was lost",
        )
    return DependencyUnavailable(
        "temporal",
        f"Temporal did not answer within {seconds} (task queue {settings.task_queue!r} has "
        f"{pollers} worker poller(s), busy or restarting); retry with the same Idempotency-Key",
    )


@asynccontextmanager
async def temporal_call(client: Client, settings: TemporalSettings) -> AsyncIterator[None]:
    """Bound the Temporal calls of the block; turn unreachable or silent into a 503 answer."""
    try:
        async with asyncio.timeout(settings.rpc_timeout):
            yield
    except (TimeoutError, RPCTimeoutOrCancelledError):  # the SDK renames a cancelled update
        raise await timed_out(client, settings) from None
    except RPCError as exc:
        if exc.status in SILENT:
            raise await timed_out(client, settings) from None
        if exc.status not in TRANSIENT:
            raise
        raise temporal_down(settings, exc.status.name.lower()) from None


def database_down(exc: DBAPIError) -> DependencyUnavailable:
    """An operational database error (locked, unreachable, disk): the first line, no SQL."""
    original = exc.orig if exc.orig is not None else exc
    first = (str(original).strip().splitlines() or [type(original).__name__])[0][:200]
    return DependencyUnavailable("database", f"the database is unavailable ({first}); retry")
