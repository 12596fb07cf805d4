"""`ApprovalWorkflow`: one approval request, decided by people, escalated and expired by timers."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.approvals import (
        ApprovalRequest,
        RequestStatus,
        apply_decision,
        choose_role,
        escalate,
        expire,
    )
    from domain.errors import GovernanceError
    from workflows.models import ApprovalWorkflowInput, DecideCommand, DecideResult, RequestClosed
    from workflows.recorder import Recorder, refusal


@workflow.defn
class ApprovalWorkflow:
    """Collects decisions for one request, escalates, expires, then tells the system workflow."""

    @workflow.init
    def __init__(self, input: ApprovalWorkflowInput) -> None:
        self._request = input.request
        self._parent = input.parent_workflow_id
        self._rec = Recorder(f"approval:{input.request.id}")
        self._version = 0
        self._results: dict[str, str] = {}

    @workflow.run
    async def run(self, input: ApprovalWorkflowInput) -> ApprovalRequest:
        """Wait for decisions or deadlines, recording each change, then report the outcome."""
        self._changed()
        while self._request.status is RequestStatus.pending:
            deadline = (
                self._request.expires_at if self._request.escalated else self._request.escalate_at
            )
            await self._wait_until(deadline)
            if self._request.status is not RequestStatus.pending:
                break
            if workflow.now() >= deadline:
                self._on_deadline()
        await self._rec.flush()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._rec.flush()
        parent = workflow.get_external_workflow_handle(self._parent)
        await parent.signal("request_closed", RequestClosed(request=self._request))
        return self._request

    async def _wait_until(self, deadline: datetime) -> None:
        """Flush records as they come while waiting for a decision or the deadline."""
        while self._request.status is RequestStatus.pending:
            remaining = (deadline - workflow.now()).total_seconds()
            if remaining <= 0:
                return
            try:
                await workflow.wait_condition(
                    lambda: self._rec.pending or self._request.status is not RequestStatus.pending,
                    timeout=remaining,
                )
            except TimeoutError:
                return
            await self._rec.flush()

    def _on_deadline(self) -> None:
        request = self._request
        if not request.escalated:
            self._request = escalate(request)
            self._event(
                "threshold",
                "approval_escalated",
                pending_roles=[r.value for r in request.pending_roles],
                fallback=request.fallback,
            )
        else:
            self._request = expire(request, workflow.now())
            self._event(
                "threshold",
                "approval_expired",
                pending_roles=[r.value for r in request.pending_roles],
            )
        self._changed()

    def _changed(self) -> None:
        self._version += 1
        self._rec.request = self._request
        self._rec.request_version = self._version

    def _event(self, actor: str, action: str, **detail: object) -> None:
        self._rec.event(
            system_id=self._request.system_id,
            actor=actor,
            action=action,
            request_id=self._request.id,
            **detail,
        )

    @workflow.query
    def request(self) -> ApprovalRequest:
        """The request as it stands now."""
        return self._request

    @workflow.update
    def decide(self, cmd: DecideCommand) -> DecideResult:
        """Record one approve or reject; the last approval or any rejection settles the request."""
        if cmd.meta.command_id in self._results:
            return DecideResult(
                command_id=cmd.meta.command_id,
                request=self._request,
                message=self._results[cmd.meta.command_id],
            )
        before = self._request
        self._request = apply_decision(before, cmd.decision, workflow.now())
        decision = self._request.decisions[-1]
        verb = "approved" if decision.approve else "rejected"
        self._event(
            decision.principal,
            f"decision_{verb}",
            role=decision.role.value,
            comment=decision.comment,
            via=decision.via,
        )
        self._changed()
        message = f"{decision.principal} {verb} as {decision.role.value}"
        if self._request.status is not RequestStatus.pending:
            message += f"; request {self._request.status.value}"
        else:
            message += "; still needed: " + ", ".join(r.value for r in self._request.pending_roles)
        self._results[cmd.meta.command_id] = message
        return DecideResult(command_id=cmd.meta.command_id, request=self._request, message=message)

    @decide.validator
    def _validate_decide(self, cmd: DecideCommand) -> None:
        if cmd.meta.command_id in self._results:
            return
        try:
            choose_role(self._request, cmd.decision)
        except GovernanceError as error:
            raise refusal(error) from None
