"""Scope-change events on `AISystemWorkflow`: the `apply_change` update and revalidation outcomes.

A pilot system takes the change and has its requirements recomputed. A production system keeps
its approved manifest in force and tracks the declared one: a material difference opens (or
folds into) one revalidation request; an immaterial one is recorded and takes effect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from temporalio import workflow

from domain.approvals import ApprovalRequest, RequestKind, RequestStatus
from domain.audit import AuditAction as A
from domain.audit import audit_action
from domain.changes import ChangeAssessment, scope_diff
from domain.classification import classify, classify_for_production
from domain.contracts import ChangeCommand, CommandMeta, CommandResult, SystemView
from domain.errors import Conflict, GovernanceError, InvalidInput, Problem
from domain.events import CredentialAction, CredentialChange, apply_event, event_key
from domain.lifecycle import PRODUCTION_STATES, LifecycleState
from domain.manifest import AISystemManifest, Credential
from domain.policy import Policy
from domain.scope import assess_declared, covers, missing_holders, new_request, next_request_id
from domain.transitions import LifecycleEvent, require
from workflows.host import SystemHost
from workflows.recorder import refusal

S = LifecycleState
E = LifecycleEvent


class ScopeChanges(SystemHost):
    """The scope-change half of `AISystemWorkflow` (mixed in; state lives on the workflow)."""

    if TYPE_CHECKING:

        def _material_change(self, view: SystemView) -> SystemView: ...
        def _queue_revocations(
            self, credentials: list[Credential], reason: str, actor: str
        ) -> None: ...

    @workflow.update
    async def apply_change(self, cmd: ChangeCommand) -> CommandResult:
        """Apply one scope-change event (a re-sent event is acknowledged, not applied again)."""
        if self._seen(cmd.meta):
            return self._replay(cmd.meta)
        return await self._started(self._apply_change(cmd))

    def _apply_change(self, cmd: ChangeCommand) -> CommandResult:
        """Decide and store one scope change (no await: nothing interleaves)."""
        try:
            view = self._current()
            policy = self._adopt(cmd.policy)
            proposed = apply_event(view.manifest, cmd.event)
            if proposed == view.manifest:
                return self._unchanged(cmd.meta, view)
            self._check_open(view)
            self._credential_audit(cmd, view)
            if view.state is S.pilot:
                return self._pilot_change(cmd, view, proposed, policy)
            return self._production_change(cmd, view, proposed, policy)
        except GovernanceError as error:
            raise refusal(error) from None

    @apply_change.validator
    def _validate_change(self, cmd: ChangeCommand) -> None:
        def check() -> None:
            if self._seen(cmd.meta):
                return
            view = self._current()
            if cmd.event.subject != self._id:
                raise InvalidInput(
                    f"event subject {cmd.event.subject!r} is not system {self._id!r}",
                    [Problem("subject", f"set subject to {self._id!r}")],
                )
            if view.state in (S.contained, S.retired):
                self._check_open(view)
            proposed = apply_event(view.manifest, cmd.event)
            if proposed == view.manifest:
                return  # acknowledged as no change, in any open state
            self._check_open(view)
            if view.state in PRODUCTION_STATES:
                policy = self._policy_for(cmd.policy)
                assessment = assess_declared(view, proposed, policy)
                missing = missing_holders(view.in_force, policy, assessment.revalidate_roles)
                if assessment.material and missing:
                    raise Conflict(
                        f"cannot revalidate {self._id}: no one holds "
                        + ", ".join(r.value for r in assessment.revalidate_roles),
                        [Problem(field, message) for field, message in missing],
                    )

        self._check(check)

    def _credential_audit(self, cmd: ChangeCommand, view: SystemView) -> None:
        """Credential lifecycle in the audit ledger; an unbound credential goes to the revoker."""
        change = cmd.event.change
        if not isinstance(change, CredentialChange):
            return
        action = {
            CredentialAction.added: A.credential_added,
            CredentialAction.rotated: A.credential_rotated,
            CredentialAction.removed: A.credential_revoked,
        }[change.action]
        self._event(cmd.meta.principal, action, credential_id=change.target_id)
        if change.action is CredentialAction.removed:
            gone = [c for c in view.manifest.credentials if c.id == change.target_id]
            self._queue_revocations(gone, f"revoked by {cmd.meta.principal}", cmd.meta.principal)

    def _check_open(self, view: SystemView) -> None:
        """Changes apply in pilot and production; a pending promotion or a closed system refuses."""
        try:
            require(view.state, E.change_recorded, self._id)
        except Conflict as error:
            pending = view.pending_request
            wait = f" (decide request {pending.id} first)" if pending else ""
            raise Conflict(error.message + wait) from None

    def _unchanged(self, meta: CommandMeta, view: SystemView) -> CommandResult:
        """The event declares what is already declared: acknowledge it, change nothing."""
        message = f"no change to the declared scope of {self._id}"
        self._processed[meta.command_id] = message
        return CommandResult(
            command_id=meta.command_id,
            system=view,
            message=message,
            assessment=view.change,
            policy_digest=self._policy_digest,
        )

    # ----- pilot ---------------------------------------------------------------------------

    def _pilot_change(
        self, cmd: ChangeCommand, view: SystemView, proposed: AISystemManifest, policy: Policy
    ) -> CommandResult:
        """A pilot takes the change at once; say when production governance now applies."""
        now = workflow.now()
        shared = cmd.shared_credentials
        requirements = classify(proposed, policy, now=now, shared_credentials=shared)
        production = classify_for_production(proposed, policy, now=now, shared_credentials=shared)
        changes = scope_diff(view.manifest, proposed)
        update: dict[str, Any] = {
            "manifest": proposed,
            "requirements": requirements,
            "production_requirements": production,
        }
        self._event(
            cmd.meta.principal,
            A.scope_changed,
            event=event_key(cmd.event),
            changes=changes,
            applies=requirements.applies,
            manifest=proposed.model_dump(mode="json"),
        )
        message = f"{self._id} (pilot) changed: " + ("; ".join(changes) or "no change")
        if requirements.applies and not view.requirements.applies:
            why = ", ".join(t.reason for t in requirements.triggers)
            notice = f"production governance now applies ({why}); promote it before real use"
            self._event(
                "threshold",
                A.production_governance_applies,
                triggers=[t.code for t in requirements.triggers],
                risk_tier=requirements.risk_tier.value,
            )
            update["last_reason"] = notice
            message += f"; {notice}"
        return self._commit(cmd.meta, view.model_copy(update=update), message, E.change_recorded)

    # ----- production ----------------------------------------------------------------------

    def _production_change(
        self, cmd: ChangeCommand, view: SystemView, proposed: AISystemManifest, policy: Policy
    ) -> CommandResult:
        """Assess against the approved manifest: record, revalidate, or fold into the open request."""
        now = workflow.now()
        assessment = assess_declared(view, proposed, policy)
        shared = cmd.shared_credentials
        production = classify_for_production(proposed, policy, now=now, shared_credentials=shared)
        still = {gap.code for gap in production.gaps}
        update: dict[str, Any] = {
            "manifest": proposed,
            "requirements": classify(proposed, policy, now=now, shared_credentials=shared),
            "production_requirements": production,
            "change": assessment if assessment.material else None,
            "change_rejected": "",
            "lapsed_gaps": [code for code in view.lapsed_gaps if code in still],
        }
        if assessment.material and view.recertification is not None:
            update["recertification"] = self._material_change(view).recertification
        pending = view.pending_request
        open_request = pending if pending and pending.kind is RequestKind.revalidation else None
        self._event(
            cmd.meta.principal,
            A.scope_change_assessed,
            event=event_key(cmd.event),
            material=assessment.material,
            changes=[r.message for r in assessment.reasons],
            recorded=[r.message for r in assessment.recorded_only],
            roles=[r.value for r in assessment.revalidate_roles],
            outcome=assessment.action,
            manifest=proposed.model_dump(mode="json"),
        )
        if not assessment.material:
            update["approved_manifest"] = proposed
            message = assessment.summary
            if open_request is not None:
                update["pending_request"] = None
                message += f"; revalidation {open_request.id} withdrawn"
                self._withdraw_request(
                    open_request.id, open_request.kind, "the declared scope needs no revalidation"
                )
            result = self._commit(
                cmd.meta, view.model_copy(update=update), message, E.change_recorded
            )
            return result.model_copy(update={"assessment": assessment})
        if open_request is not None and covers(open_request, assessment):
            message = f"{assessment.summary}; already awaiting revalidation {open_request.id}"
            result = self._commit(
                cmd.meta, view.model_copy(update=update), message, E.revalidation_opened
            )
            return result.model_copy(update={"assessment": assessment})
        return self._open_revalidation(cmd, view, assessment, update, open_request, policy)

    def _open_revalidation(
        self,
        cmd: ChangeCommand,
        view: SystemView,
        assessment: ChangeAssessment,
        update: dict[str, Any],
        replaces: ApprovalRequest | None,
        policy: Policy,
    ) -> CommandResult:
        """Open one revalidation request for the whole declared change (folding an open one)."""
        request = new_request(
            request_id=next_request_id(view),
            view=view,
            policy=policy,
            requester=cmd.meta.principal,
            kind=RequestKind.revalidation,
            roles=assessment.revalidate_roles,
            summary=f"Revalidate {view.manifest.name} ({self._id}): {assessment.summary}",
            production=update["production_requirements"],
            now=workflow.now(),
            change=[reason.message for reason in assessment.reasons],
        )
        if replaces is not None:
            self._event("threshold", A.revalidation_folded, replaces.id, into=request.id)
            self._withdraw_request(replaces.id, replaces.kind, f"superseded by {request.id}")
        view = self._open_request(view.model_copy(update=update), request, blocking=True)
        self._event(
            cmd.meta.principal,
            A.revalidation_requested,
            request.id,
            required_roles=[r.value for r in request.required_roles],
            changes=request.change,
            outcome=assessment.action,
        )
        roles = ", ".join(r.value for r in request.required_roles)
        kept = (
            "production is suspended until then"
            if assessment.action == "suspend"
            else "the approved scope stays in force"
        )
        what = "; ".join(request.change)
        message = f"material change ({what}): revalidation {request.id} awaits {roles}; {kept}"
        if replaces is not None:
            message += f" (folds {replaces.id})"
        result = self._commit(cmd.meta, view, message, E.revalidation_opened)
        return result.model_copy(update={"assessment": assessment})

    def _revalidation_closed(
        self, meta: CommandMeta, view: SystemView, request: ApprovalRequest
    ) -> CommandResult | None:
        """Approved: the declared scope becomes the approved one. Otherwise say what to roll back."""
        if view.pending_request is None or view.pending_request.id != request.id:
            return None
        base: dict[str, Any] = {"pending_request": None}
        if request.status is RequestStatus.approved:
            update = base | {
                "approved_manifest": view.manifest,
                "change": None,
                "change_rejected": "",
                "last_reason": "",
                "lapsed_gaps": [],
            }
            message = f"{request.id} approved: the declared scope of {self._id} is approved"
            self._event(
                "threshold",
                A.revalidation_approved,
                request.id,
                changes=request.change,
                approvers=request.approvers,
            )
        else:
            rollback = [r.message for r in view.change.reasons] if view.change else request.change
            why = f"{request.id} {request.status.value}: {request.reason}"
            update = base | {
                "change_rejected": why,
                "last_reason": f"{why}; roll back: " + "; ".join(rollback),
            }
            message = f"{why}; the approved scope stays in force; roll back: " + "; ".join(rollback)
            self._event(
                "threshold",
                audit_action("revalidation", request.status.value),
                request.id,
                reason=request.reason,
                rollback=rollback,
            )
        return self._commit(meta, view.model_copy(update=update), message, E.revalidation_closed)
