"""Action findings on `AISystemWorkflow`: the first finding of each kind revalidates or contains.

The API stores every finding; the first of each kind per system arrives here as the
`action_finding` signal. It is audited, the owners and security are told, and per
`actions.on_finding` a production system gets a revalidation request or is contained.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import workflow

from domain.approvals import RequestKind
from domain.audit import AuditAction as A
from domain.contracts import ActionFindingSignal, CommandMeta, CommandResult, SystemView
from domain.lifecycle import CLOSED_STATES, PRODUCTION_STATES, LifecycleState
from domain.policy import Policy, Role
from domain.scope import missing_holders, new_request, next_request_id
from domain.transitions import LifecycleEvent
from workflows.host import SystemHost

S = LifecycleState
E = LifecycleEvent


class ActionFindings(SystemHost):
    """The action-finding half of `AISystemWorkflow` (mixed in; state lives on the workflow)."""

    if TYPE_CHECKING:

        def _contain(self, meta: CommandMeta, reason: str, policy: Policy) -> CommandResult: ...
        def _tell_owners(
            self, view: SystemView, policy: Policy | None, key: str, text: str
        ) -> None: ...

    @workflow.signal
    def action_finding(self, signal: ActionFindingSignal) -> None:
        """The first finding of a kind: audit it, then revalidate or contain per policy."""
        view = self._view
        key = f"finding:{signal.code}"
        if view is None or key in self._processed or view.state is S.retired:
            return
        self._processed[key] = signal.message
        policy = self._adopt(signal.policy)
        outcome = _finding_outcome(view, policy)
        self._event(
            "threshold",
            A.action_finding,
            code=signal.code,
            message=signal.message,
            nhi=signal.nhi,
            trace_id=signal.trace_id,
            credential_id=signal.credential_id,
            at=signal.at,
            outcome=outcome,
        )
        meta = CommandMeta(command_id=f"{key}:{signal.trace_id}"[:200], principal="threshold")
        self._tell_owners(
            view,
            policy,
            key,
            f"{view.manifest.name} ({self._id}) acted outside its approved scope: "
            f"{signal.message} (trace {signal.trace_id}); outcome: {outcome}",
        )
        if outcome == "contain":
            self._contain(meta, f"action finding {signal.code}: {signal.message}", policy)
        elif outcome == "revalidate":
            self._finding_revalidation(meta, view, signal, policy)

    def _finding_revalidation(
        self, meta: CommandMeta, view: SystemView, signal: ActionFindingSignal, policy: Policy
    ) -> None:
        """Open a revalidation of the system's actual behaviour (technical owner, security)."""
        roles = [
            r
            for r in (Role.technical_owner, Role.security)
            if not missing_holders(view.in_force, policy, [r])
        ]
        request = new_request(
            request_id=next_request_id(view),
            view=view,
            policy=policy,
            requester="threshold",
            kind=RequestKind.revalidation,
            roles=roles,
            summary=f"Revalidate {view.manifest.name} ({self._id}): action outside approved scope",
            production=view.production_requirements,
            now=workflow.now(),
            change=[f"action finding: {signal.message}"],
        )
        self._event(
            "threshold",
            A.revalidation_requested,
            request.id,
            required_roles=[r.value for r in roles],
            changes=request.change,
            outcome="revalidate",
        )
        view = view.model_copy(
            update={"last_reason": f"action finding {signal.code}: {signal.message}"}
        )
        view = self._open_request(view, request, blocking=True)
        self._commit(meta, view, f"revalidation {request.id} opened", E.revalidation_opened)


def _finding_outcome(view: SystemView, policy: Policy) -> str:
    """contain, revalidate or record, from the policy and where the system is."""
    if view.state in CLOSED_STATES:
        return "record"
    if policy.actions.on_finding == "contain":
        return "contain"
    if view.state in PRODUCTION_STATES and view.pending_request is None:
        return "revalidate"
    return "record"
