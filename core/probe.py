"""`python -m core.probe api|worker`: container health checks that need no curl.

`api` asks this container's API for /healthz. `worker` asks Temporal whether a worker on this
host (its identity is `pid@hostname`) polls the task queue: a worker that lost its connection
or hung stops polling and turns unhealthy. Exit 0 healthy, 1 not, with one line saying why.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import urllib.request
from collections.abc import Sequence

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from core.settings import Settings, get_settings
from core.temporal import connect


def api_healthy(settings: Settings) -> str | None:
    """None when /healthz answers 200 on this host, else why not."""
    url = f"http://127.0.0.1:{settings.api.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return None if response.status == 200 else f"{url} answered {response.status}"
    except OSError as exc:
        return f"{url}: {exc}"


async def worker_polls(settings: Settings, host: str) -> str | None:
    """None when a worker on `host` polls the task queue for workflow tasks, else why not."""
    client = await connect(settings)
    queue = settings.temporal.task_queue
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=settings.temporal.namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    if any(poller.identity.endswith(f"@{host}") for poller in response.pollers):
        return None
    return f"no worker on {host} polls task queue {queue!r}"


def main(argv: Sequence[str] | None = None) -> None:
    """Run one probe and exit with its verdict."""
    role = (list(argv) if argv is not None else sys.argv[1:] or ["api"])[0]
    settings = get_settings()
    try:
        if role == "worker":
            problem = asyncio.run(worker_polls(settings, socket.gethostname()))
        else:
            problem = api_healthy(settings)
    except Exception as exc:  # a probe reports, it never raises
        problem = f"{type(exc).__name__}: {exc}"
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
    sys.stderr.flush()
    os._exit(1 if problem else 0)  # the Temporal bridge can abort interpreter finalisation


if __name__ == "__main__":
    main()
