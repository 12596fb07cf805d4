"""Which Temporal answers are a dependency's fault (503) rather than a bug."""

from __future__ import annotations

from temporalio.service import RPCError, RPCStatusCode

from api.faults import task_failing, worker_failing
from core.settings import TemporalSettings


def test_a_query_on_a_failing_workflow_task_names_the_worker() -> None:
    """Temporal's "Workflow Task in failed state" (what a query meets once the worker fails a
    workflow's tasks, seen at 2,000 systems) is the worker's fault: a 503 naming the queue."""
    stuck = RPCError(
        "Unable to query workflow due to Workflow Task in failed state.",
        RPCStatusCode.FAILED_PRECONDITION,
        b"",
    )
    assert task_failing(stuck)
    fault = worker_failing(TemporalSettings(task_queue="threshold"))
    assert fault.dependency == "worker" and "task queue threshold" in fault.message
    other = RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")
    assert not task_failing(other)
    precondition = RPCError("namespace is not active", RPCStatusCode.FAILED_PRECONDITION, b"")
    assert not task_failing(precondition)
