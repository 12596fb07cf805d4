"""An outbox of audit events a workflow drains through the `record_batch` activity."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.approvals import ApprovalRequest
    from domain.errors import GovernanceError
    from workflows.models import AuditEvent, RecordBatch, SystemView

RECORD_OPTIONS: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30)),
}
# Runs started since this patch write their batches as local activities (same code, same retries).
LOCAL_RECORD_PATCH = "local-record-batch"


def refusal(error: GovernanceError) -> ApplicationError:
    """Turn a domain refusal into a failure the caller receives with every problem listed."""
    return ApplicationError(
        error.message,
        {"problems": [p.as_dict() for p in error.problems]},
        type=error.code,
        non_retryable=True,
    )


class Recorder:
    """Numbers events per workflow (the idempotency key) and flushes them in order.

    `local` writes each batch as a local activity: the worker runs it inside the workflow task
    that produced it (a marker in history, no activity task, no second workflow task), so a
    command costs one workflow task. Temporal still retries it; the write stays idempotent.
    """

    def __init__(self, key_prefix: str, seq: int = 0, *, local: bool = False) -> None:
        self.key_prefix = key_prefix
        self.seq = seq
        self.local = local
        self.events: list[AuditEvent] = []
        self.system: SystemView | None = None
        self.request: ApprovalRequest | None = None
        self.request_version = 0

    def event(
        self,
        *,
        system_id: str,
        actor: str,
        action: str,
        request_id: str | None = None,
        **detail: Any,
    ) -> None:
        """Queue one audit event stamped with workflow time."""
        self.seq += 1
        self.events.append(
            AuditEvent(
                event_key=f"{self.key_prefix}:{self.seq}",
                system_id=system_id,
                at=workflow.now(),
                actor=actor,
                action=action,
                request_id=request_id,
                detail=detail,
            )
        )

    @property
    def pending(self) -> bool:
        """True when something waits to be written."""
        return bool(self.events) or self.system is not None or self.request is not None

    async def flush(self) -> None:
        """Write until nothing is queued (commands arriving meanwhile are written too)."""
        while self.pending:
            await self.flush_once()

    async def flush_once(self) -> None:
        """Write what is queued now, as one activity call; a no-op when nothing is."""
        if not self.pending:
            return
        batch = RecordBatch(
            events=self.events,
            system=self.system,
            request=self.request,
            request_version=self.request_version,
        )
        self.events, self.system, self.request = [], None, None
        if self.local:
            await workflow.execute_local_activity("record_batch", batch, **RECORD_OPTIONS)
        else:
            await workflow.execute_activity("record_batch", batch, **RECORD_OPTIONS)
