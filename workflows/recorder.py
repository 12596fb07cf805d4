"""An outbox of audit events a workflow drains through the `record_batch` activity."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from domain.approvals import ApprovalRequest
from domain.audit import AuditAction
from domain.contracts import AuditEvent, RecordBatch, SystemView
from domain.errors import GovernanceError
from workflows import effects

RECORD_TIMEOUT = timedelta(seconds=30)
RECORD_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))


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

    Each batch is a local activity: the worker runs it inside the workflow task that produced
    it (a marker in history, no activity task, no second workflow task), so a command costs
    one workflow task. Temporal still retries it; the write stays idempotent.
    """

    def __init__(self, key_prefix: str, seq: int = 0) -> None:
        self.key_prefix = key_prefix
        self.seq = seq
        self.events: list[AuditEvent] = []
        self.system: SystemView | None = None
        self.request: ApprovalRequest | None = None
        self.request_version = 0

    def event(
        self,
        *,
        system_id: str,
        actor: str,
        action: AuditAction,
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
        await workflow.execute_local_activity(
            effects.record_batch,
            batch,
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
        )
