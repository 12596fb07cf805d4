"""Just-in-time action approvals on `AISystemWorkflow` (mixed in): open one, settle it.

The rules are in `domain/action_approvals.py`. An action approval changes no lifecycle state:
the request is non-blocking (promotions, changes and other approvals go on beside it), and a
containment or retirement withdraws the open ones (`RequestSeam._withdraw_open`).
"""

from __future__ import annotations

from temporalio import workflow

from domain.action_approvals import action_request, check_opening, opened, settle
from domain.approvals import ApprovalRequest
from domain.audit import AuditAction as A
from domain.audit import audit_action
from domain.contracts import ActionApprovalCommand, CommandMeta, CommandResult, SystemView
from workflows.host import SystemHost


class ActionApprovals(SystemHost):
    """The just-in-time approval half of `AISystemWorkflow` (state lives on the workflow)."""

    @workflow.update
    async def request_action_approval(self, cmd: ActionApprovalCommand) -> CommandResult:
        """Open an approval of one action a runtime asked to take; answer once it exists."""
        if self._seen(cmd.meta):
            return self._replay(cmd.meta)
        return await self._started(self._open_action_approval(cmd))

    def _open_action_approval(self, cmd: ActionApprovalCommand) -> CommandResult:
        """Decide and store the request (no await: nothing interleaves)."""
        view = self._current()
        policy = self._adopt(cmd.policy)
        request = action_request(view, policy, cmd.ask, cmd.meta.principal, workflow.now())
        view = self._open_request(view, request, blocking=False)
        entry = opened(request, cmd.meta.command_id, cmd.ask)
        self._event(
            cmd.meta.principal,
            A.action_approval_requested,
            request.id,
            name=entry.action,
            tool=cmd.ask.tool,
            target=cmd.ask.target,
            trace_id=cmd.ask.trace_id,
            required_roles=[r.value for r in request.required_roles],
            expires_at=request.expires_at.isoformat(),
        )
        roles = ", ".join(r.value for r in request.required_roles)
        view = view.model_copy(update={"action_approvals": [*view.action_approvals, entry]})
        message = f"action approval {request.id} for {entry.action} awaits {roles}"
        return self._commit(cmd.meta, view, message)

    @request_action_approval.validator
    def _validate_action_approval(self, cmd: ActionApprovalCommand) -> None:
        if not self._seen(cmd.meta):
            view = self._current()
            self._check(lambda: check_opening(view, self._policy_for(cmd.policy), cmd.ask))

    def _action_closed(
        self, meta: CommandMeta, view: SystemView, request: ApprovalRequest
    ) -> CommandResult | None:
        """An action approval settled: audited, and kept on the record with its outcome."""
        if not any(e.request_id == request.id for e in view.action_approvals):
            return None
        self._event(
            "threshold",
            audit_action("action_approval", request.status.value),
            request.id,
            approvers=request.approvers,
            reason=request.reason,
        )
        entries = settle(view.action_approvals, request)
        message = f"action approval {request.id} {request.status.value}"
        return self._commit(meta, view.model_copy(update={"action_approvals": entries}), message)
