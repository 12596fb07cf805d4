"""The one seam for a system's approval requests: open, withdraw, close.

Every kind of request (promotion, revalidation, recertification, exception, release) is opened
with `_open_request`, withdrawn with `_withdraw_request` and settled through `_close_request`,
which hands the closed request to the closer its kind names.

Handlers decide and store synchronously: a handler that opens a request commits the new
record first and only then awaits `_started` (so its answer means the request's workflow
exists). Between a decision and its commit there is no await, so handlers never interleave
mid-decision and no lock is needed; a command arriving while another waits for its start
already sees the pending request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

from domain.approvals import ApprovalRequest, RequestKind, RequestStatus
from domain.audit import AuditAction as A
from domain.contracts import (
    ApprovalWorkflowInput,
    CommandMeta,
    CommandResult,
    RequestClosed,
    SystemView,
    WithdrawSignal,
    approval_workflow_id,
    id_prefix,
)
from domain.waivers import WaiverStatus, ended, replace
from workflows.approval import ApprovalWorkflow
from workflows.host import SystemHost

Closer = Callable[[CommandMeta, SystemView, ApprovalRequest], CommandResult | None]


class RequestSeam(SystemHost):
    """Opens, withdraws and closes approval requests for `AISystemWorkflow` (mixed in)."""

    if TYPE_CHECKING:
        _jobs: list[asyncio.Task[None]]
        _starting: dict[str, asyncio.Task[None]]

        def _closers(self) -> dict[RequestKind, Closer]: ...

    def _approval_id(self, request_id: str) -> str:
        """The workflow id of one of this system's approval requests."""
        return approval_workflow_id(request_id, id_prefix(workflow.info().workflow_id, self._id))

    def _open_request(
        self, view: SystemView, request: ApprovalRequest, *, blocking: bool
    ) -> SystemView:
        """Start the request's approval workflow; `blocking` makes it the system's pending one."""
        start = asyncio.create_task(self._start_child(request))
        self._starting[request.id] = start
        self._jobs = [task for task in self._jobs if not task.done()]
        self._jobs.append(start)
        update: dict[str, Any] = {"request_ids": [*view.request_ids, request.id]}
        if blocking:
            update["pending_request"] = request
        return view.model_copy(update=update)

    async def _started(self, result: CommandResult) -> CommandResult:
        """Wait until the request a command opened has its workflow, then answer."""
        for request_id in result.system.request_ids[-1:]:
            start = self._starting.get(request_id)
            if start is not None:
                await start
        return result

    async def _start_child(self, request: ApprovalRequest) -> None:
        """Start an approval child that outlives this run and reports back by workflow id."""
        try:
            await workflow.start_child_workflow(
                ApprovalWorkflow.run,
                ApprovalWorkflowInput(
                    request=request, parent_workflow_id=workflow.info().workflow_id
                ),
                id=self._approval_id(request.id),
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except Exception as error:  # the id is taken: that request exists already
            self._event("threshold", A.request_start_failed, request.id, error=str(error))
        finally:
            self._starting.pop(request.id, None)

    def _withdraw_request(self, request_id: str, kind: RequestKind, reason: str) -> None:
        """Close an open request without a decision (its ticket and messages say why)."""
        action = (
            A.revalidation_withdrawn if kind is RequestKind.revalidation else A.request_withdrawn
        )
        self._event("threshold", action, request_id, reason=reason)
        self._background(self._signal_withdraw(request_id, reason))

    async def _signal_withdraw(self, request_id: str, reason: str) -> None:
        handle = workflow.get_external_workflow_handle(self._approval_id(request_id))
        try:
            await handle.signal(ApprovalWorkflow.withdraw, WithdrawSignal(reason=reason))
        except Exception as error:  # closed meanwhile: its closing signal is then ignored
            self._event("threshold", A.withdraw_failed, request_id, error=str(error))

    def _withdraw_open(self, view: SystemView, reason: str, *, every: bool = False) -> SystemView:
        """Withdraw the pending request and open action approvals (`every`: recert and exceptions)."""
        update: dict[str, Any] = {}
        pending = view.pending_request
        if pending is not None:
            self._withdraw_request(pending.id, pending.kind, reason)
            update["pending_request"] = None
        recert = view.recertification
        if every and recert is not None and recert.request_id is not None:
            self._withdraw_request(recert.request_id, RequestKind.recertification, reason)
            update["recertification"] = recert.model_copy(update={"request_id": None})
        for entry in view.action_approvals:
            if entry.status == RequestStatus.pending.value:
                self._withdraw_request(entry.request_id, RequestKind.action, reason)
        if every:
            now, exceptions = workflow.now(), list(view.exceptions)
            for found in view.exceptions:
                if found.status is WaiverStatus.pending:
                    self._withdraw_request(found.request_id, RequestKind.exception, reason)
                    exceptions = replace(exceptions, ended(found, WaiverStatus.revoked, now))
            update["exceptions"] = exceptions
        return view.model_copy(update=update) if update else view

    def _background(self, job: Any) -> None:
        """Run a start or a withdraw beside the handler that decided it."""
        self._jobs = [task for task in self._jobs if not task.done()]
        self._jobs.append(asyncio.create_task(job))

    def _close_request(self, request: ApprovalRequest) -> CommandResult | None:
        """A request settled: its kind's closer moves the lifecycle on (once per request)."""
        view = self._view
        meta = CommandMeta(command_id=f"closed:{request.id}", principal="threshold")
        if view is None or self._seen(meta):
            return None
        closer = self._closers().get(request.kind)
        return closer(meta, view, request) if closer is not None else None

    @workflow.signal
    def request_closed(self, signal: RequestClosed) -> None:
        """An approval workflow reports its request settled."""
        self._close_request(signal.request)

    @workflow.update
    def close_request(self, signal: RequestClosed) -> CommandResult:
        """The decider's API reports the closing decision: the system as it now stands."""
        result = self._close_request(signal.request)
        if result is not None:
            return result
        return CommandResult(
            command_id=f"closed:{signal.request.id}",
            system=self._current(),
            message=self._processed.get(f"closed:{signal.request.id}", "no change"),
            duplicate=True,
        )
