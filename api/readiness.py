"""`/readyz`: can this API serve? The database answers, Temporal answers, a worker polls.

`/healthz` (in `api.app`) only says the process runs; `/readyz` is what a load balancer or a
Kubernetes readiness probe asks. Results are reused for `readiness_cache_seconds`, so probes
from many places cost one check per interval.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from core.settings import Settings

RETRY_AFTER_SECONDS = 5
POLLER_FRESH = timedelta(minutes=2)
"""A poller seen this recently counts as a live worker (an idle long poll lasts about a minute)."""


@dataclass(frozen=True)
class Check:
    """One dependency's answer."""

    ok: bool
    detail: str

    def public(self) -> dict[str, Any]:
        """The check as JSON."""
        return {"ok": self.ok, "detail": self.detail}


def _problem(exc: BaseException) -> str:
    """A short description of a failure (first line, no traceback)."""
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


async def check_database(engine: Engine, timeout: float) -> Check:
    """`SELECT 1` on a pooled connection, within `timeout` seconds."""

    def ping() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(asyncio.to_thread(ping), timeout)
    except TimeoutError:
        return Check(False, f"no answer within {timeout:g}s")
    except Exception as exc:
        return Check(False, _problem(exc))
    return Check(True, f"{engine.dialect.name} answers")


async def check_temporal(client: Client, settings: Settings, timeout: float) -> tuple[Check, Check]:
    """One `DescribeTaskQueue` call: Temporal answers, and a worker polled recently."""
    queue, address = settings.temporal.task_queue, client.service_client.config.target_host
    request = DescribeTaskQueueRequest(
        namespace=settings.temporal.namespace,
        task_queue=TaskQueue(name=queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    try:
        answer = await client.workflow_service.describe_task_queue(
            request, timeout=timedelta(seconds=timeout)
        )
    except Exception as exc:
        problem = f"{address}: {_problem(exc)}"
        return Check(False, problem), Check(False, "unknown: Temporal does not answer")
    temporal = Check(True, f"{address} namespace {settings.temporal.namespace}")
    fresh = datetime.now(UTC) - POLLER_FRESH
    pollers = [p for p in answer.pollers if p.last_access_time.ToDatetime(UTC) >= fresh]
    if not pollers:
        return temporal, Check(False, f"no worker polls task queue {queue!r}")
    return temporal, Check(True, f"{len(pollers)} poller(s) on task queue {queue!r}")


class Readiness:
    """The checks of one app, cached for a short interval."""

    def __init__(self, engine: Engine, client: Client, settings: Settings) -> None:
        self._engine = engine
        self._client = client
        self._settings = settings
        self._lock = asyncio.Lock()
        self._cached: tuple[float, dict[str, Check]] | None = None

    async def checks(self) -> dict[str, Check]:
        """Every check, reused while younger than `readiness_cache_seconds`."""
        async with self._lock:
            if self._cached is not None and self._cached[0] > time.monotonic():
                return self._cached[1]
            options = self._settings.observability
            timeout = options.readiness_timeout_seconds
            database, (temporal, worker) = await asyncio.gather(
                check_database(self._engine, timeout),
                check_temporal(self._client, self._settings, timeout),
            )
            found = {"database": database, "temporal": temporal, "worker": worker}
            self._cached = (time.monotonic() + options.readiness_cache_seconds, found)
            return found


router = APIRouter(include_in_schema=False)


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 when every dependency answers; else 503 naming the ones that do not."""
    readiness: Readiness = request.app.state.readiness
    checks = await readiness.checks()
    body: dict[str, Any] = {
        "ready": all(c.ok for c in checks.values()),
        "checks": {name: c.public() for name, c in checks.items()},
    }
    if body["ready"]:
        return JSONResponse(body)
    down = [name for name, c in checks.items() if not c.ok]
    body["error"] = {
        "message": "not ready: " + "; ".join(f"{name} ({checks[name].detail})" for name in down),
        "problems": [{"field": name, "message": checks[name].detail} for name in down],
    }
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return JSONResponse(body, status_code=503, headers=headers)
