"""`python -m bench.rawworker ADDRESS NAMESPACE QUEUE`: the raw baseline's worker, in its own process.

Threshold's worker runs in its own process (`python -m core.serve worker`), so the baseline's
does too, with the same sandbox runner: the two sides of each ratio have the same layout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from bench.raw import RawEntityWorkflow
from core.serve import die_with_parent, interrupt
from worker import workflow_runner


async def run(address: str, namespace: str, queue: str) -> None:
    """Poll `queue` until interrupted."""
    client = await Client.connect(
        address, namespace=namespace, data_converter=pydantic_data_converter
    )
    worker = Worker(
        client, task_queue=queue, workflows=[RawEntityWorkflow], workflow_runner=workflow_runner()
    )
    async with worker:
        await asyncio.Event().wait()


def main() -> None:
    """Entry point: die with the bench, stop on SIGTERM as on Ctrl-C."""
    address, namespace, queue, parent = sys.argv[1:5]
    die_with_parent(int(parent))
    signal.signal(signal.SIGTERM, interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(address, namespace, queue))
    os._exit(0)


if __name__ == "__main__":
    main()
