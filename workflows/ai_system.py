"""`AISystemWorkflow`: one long-running workflow per AI system, the truth about its lifecycle."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from domain.approvals import ApprovalRequest, RequestKind, RequestStatus
from domain.audit import AuditAction as A
from domain.audit import audit_action
from domain.classification import classify, classify_for_production
from domain.contracts import (
    AmendCommand,
    CommandMeta,
    CommandResult,
    PolicyRef,
    PromoteCommand,
    RegisterCommand,
    SystemCarried,
    SystemView,
    SystemWorkflowInput,
)
from domain.errors import GovernanceError, NotFound, Problem
from domain.gate import system_gate
from domain.lifecycle import GateResult, LifecycleState, Scope
from domain.manifest import Environment
from domain.policy import Policy, policy_digest
from domain.registration import check_registration, registered_view
from domain.requirements import GovernanceRequirements
from domain.scope import new_request, next_request_id, role_holders
from domain.transitions import LifecycleEvent, advance, require
from workflows.action_approvals import ActionApprovals
from workflows.changes import ScopeChanges
from workflows.containment import Containment
from workflows.dormancy import Dormancy
from workflows.findings import ActionFindings
from workflows.recertification import Recertification
from workflows.recorder import Recorder, refusal
from workflows.requests import Closer, RequestSeam
from workflows.retirement import Retirement
from workflows.waivers import Waivers

PROCESSED_KEEP = 500
S = LifecycleState
E = LifecycleEvent


__all__ = ["AISystemWorkflow"]


@workflow.defn
class AISystemWorkflow(
    RequestSeam,
    ScopeChanges,
    Recertification,
    Waivers,
    Containment,
    ActionFindings,
    ActionApprovals,
    Dormancy,
    Retirement,
):
    """Registration → pilot → promotion → production → … → retirement, for one system."""

    @workflow.init
    def __init__(self, input: SystemWorkflowInput) -> None:
        self._id = input.system_id
        self._max_events = input.max_history_events
        carried = input.carried
        self._view: SystemView | None = carried.view if carried else None
        self._policy: Policy = carried.policy if carried else Policy()
        self._policy_digest = policy_digest(self._policy)
        self._processed: dict[str, str] = dict(carried.processed) if carried else {}
        self._rec = Recorder(f"ai-system:{self._id}", carried.event_seq if carried else 0)
        if carried:
            self._rec.events = list(carried.outbox)
            self._rec.system = carried.view if carried.projection_pending else None
        self._finished = False
        self._jobs: list[asyncio.Task[None]] = []
        self._starting: dict[str, asyncio.Task[None]] = {}
        self._init_deadlines()
        self._revoke_queue = list(carried.revoke_queue) if carried else []
        self._incident_queue = list(carried.incident_queue) if carried else []
        self._notice_queue = list(carried.notice_queue) if carried else []
        if input.registration is not None and carried is None:
            self._register(input.registration)

    @workflow.run
    async def run(self, input: SystemWorkflowInput) -> SystemView | None:
        """Drain the outbox as commands arrive; continue as new when history grows."""
        if self._view is None:
            raise ApplicationError(
                f"system {self._id} was started without a registration",
                type="not_registered",
                non_retryable=True,
            )
        while True:
            self._arm()  # one durable timer for the nearest recertification/exception deadline
            await workflow.wait_condition(
                lambda: (
                    self._rec.pending
                    or self._finished
                    or self._history_full()
                    or self._deadline_reached()
                    or self._deadline_moved()
                    or self._jobs_pending()
                )
            )
            if self._deadline_reached() and not self._finished:
                await self._on_deadlines()
            await self._rec.flush_once()  # one batch, so a steady stream cannot starve CAN
            if self._jobs_pending():
                await self._rec.flush()  # `contained` lands before the revoker is called
                await self.run_containment_jobs()
                continue
            if self._finished or self._history_full():
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._settle_side()
                if self._finished:
                    await self._rec.flush()
                    return self._view
                workflow.continue_as_new(self._carry())  # unwritten events travel along

    def _history_full(self) -> bool:
        info = workflow.info()
        return self._view is not None and (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._max_events
        )

    def _carry(self) -> SystemWorkflowInput:
        assert self._view is not None
        kept = dict(list(self._processed.items())[-PROCESSED_KEEP:])
        carried = SystemCarried(
            view=self._view,
            event_seq=self._rec.seq,
            policy=self._policy,
            processed=kept,
            outbox=self._rec.events,
            projection_pending=self._rec.system is not None,
            revoke_queue=self._revoke_queue,
            incident_queue=self._incident_queue,
            notice_queue=self._notice_queue,
        )
        return SystemWorkflowInput(
            system_id=self._id, carried=carried, max_history_events=self._max_events
        )

    # ----- queries -------------------------------------------------------------------------

    @workflow.query
    def view(self) -> SystemView | None:
        """The system as it stands now."""
        return self._view

    @workflow.query
    def gate(self, environment: Environment) -> GateResult:
        """May the system deploy the approved scope to `environment` now, and why."""
        return self._gate(environment, Scope.approved)

    @workflow.query
    def gate_declared(self, environment: Environment) -> GateResult:
        """May the system deploy its declared scope (the repository's manifest) now, and why."""
        return self._gate(environment, Scope.declared)

    def _gate(self, environment: Environment, scope: Scope) -> GateResult:
        return system_gate(self._id, self._view, environment, scope, workflow.now())

    # ----- the record, its versions and its transitions ------------------------------------

    def _seen(self, meta: CommandMeta) -> bool:
        return meta.command_id in self._processed

    def _current(self) -> SystemView:
        if self._view is None:
            raise refusal(NotFound(f"system {self._id} is not registered"))
        return self._view

    def _replay(self, meta: CommandMeta) -> CommandResult:
        """A repeated command: the first answer's message and the record as it is now."""
        return CommandResult(
            command_id=meta.command_id,
            system=self._current(),
            message=self._processed[meta.command_id],
            duplicate=True,
            policy_digest=self._policy_digest,
        )

    def _commit(
        self,
        meta: CommandMeta,
        view: SystemView,
        message: str,
        event: LifecycleEvent | None = None,
    ) -> CommandResult:
        """Store a command's outcome: the new version of the record and the caller's answer."""
        view = self._internal(view, event)
        result = CommandResult(
            command_id=meta.command_id,
            system=view,
            message=message,
            policy_digest=self._policy_digest,
        )
        self._processed[meta.command_id] = message
        return result

    def _internal(self, view: SystemView, event: LifecycleEvent | None = None) -> SystemView:
        """Store a new version of the record; `event` moves its state through the table.

        The state is never assigned anywhere else: without an event it stays as it was, and
        `contained_from` is kept true to it (the state a containment interrupted).
        """
        before = self._current().state if self._view is not None else S.registered
        state = advance(before, event, view.facts(), self._id) if event else before
        contained_from = view.contained_from
        if state is S.contained and before is not S.contained:
            contained_from = before
        elif state is not S.contained:
            contained_from = None
        view = view.model_copy(
            update={
                "state": state,
                "contained_from": contained_from,
                "updated_at": workflow.now(),
                "version": view.version + 1,
            }
        )
        self._view = view
        self._rec.system = view
        return view

    def _event(
        self, actor: str, action: A, request_id: str | None = None, **detail: object
    ) -> None:
        self._rec.event(
            system_id=self._id, actor=actor, action=action, request_id=request_id, **detail
        )

    @staticmethod
    def _check(check: object) -> None:
        """Run a validator body, turning domain refusals into update failures."""
        assert callable(check)
        try:
            check()
        except GovernanceError as error:
            raise refusal(error) from None

    # ----- the one policy source -----------------------------------------------------------

    def _policy_for(self, ref: PolicyRef) -> Policy:
        """The policy a command is decided with (validators: nothing is adopted yet)."""
        if ref.policy is not None:
            return ref.policy
        if ref.digest == self._policy_digest:
            return self._policy
        raise ApplicationError(
            f"system {self._id} holds policy {self._policy_digest}, not {ref.digest}: "
            "send the policy with the command",
            type="policy_outdated",
            non_retryable=True,
        )

    def _adopt(self, ref: PolicyRef | None) -> Policy:
        """Take the command's policy (when it carries one) as the one the system decides with."""
        if ref is not None and ref.policy is not None and ref.digest != self._policy_digest:
            self._policy, self._policy_digest = ref.policy, ref.digest
        return self._policy

    # ----- register / amend ----------------------------------------------------------------

    def _register(self, cmd: RegisterCommand) -> None:
        """The registration the start carries (the API checked it and answered already)."""
        view, message = registered_view(cmd, cmd.at or workflow.now())
        self._policy, self._policy_digest = cmd.policy, policy_digest(cmd.policy)
        self._view = view
        self._rec.system = view
        self._processed[cmd.meta.command_id] = message
        actor, requirements = cmd.meta.principal, view.requirements
        self._event(actor, A.registered, manifest=cmd.manifest.model_dump(mode="json"))
        self._event(
            actor,
            A.entered_pilot,
            applies=requirements.applies,
            risk_tier=requirements.risk_tier.value,
        )

    @workflow.update
    def register(self, cmd: RegisterCommand) -> CommandResult:
        """A registration for a running system: the first answer again, if it is a repeat."""
        return self._replay(cmd.meta)

    @register.validator
    def _validate_register(self, cmd: RegisterCommand) -> None:
        if not self._seen(cmd.meta):
            self._check(lambda: require(self._current().state, E.register, self._id))

    @workflow.update
    def amend(self, cmd: AmendCommand) -> CommandResult:
        """Replace the declared manifest of a pilot system and recompute its requirements."""
        if self._seen(cmd.meta):
            return self._replay(cmd.meta)
        view = self._current()
        policy = self._adopt(cmd.policy)
        now, shared = workflow.now(), cmd.shared_credentials
        changed = sorted(
            key
            for key, value in cmd.manifest.model_dump().items()
            if view.manifest.model_dump().get(key) != value
        )
        view = view.model_copy(
            update={
                "manifest": cmd.manifest,
                "requirements": classify(cmd.manifest, policy, now=now, shared_credentials=shared),
                "production_requirements": classify_for_production(
                    cmd.manifest, policy, now=now, shared_credentials=shared
                ),
            }
        )
        self._event(
            cmd.meta.principal,
            A.manifest_amended,
            changed=changed,
            manifest=cmd.manifest.model_dump(mode="json"),
        )
        message = f"amended {self._id}: " + (", ".join(changed) or "no change")
        return self._commit(cmd.meta, view, message, E.amend)

    @amend.validator
    def _validate_amend(self, cmd: AmendCommand) -> None:
        def check() -> None:
            if self._seen(cmd.meta):
                return
            require(self._current().state, E.amend, self._id)
            check_registration(self._id, cmd.manifest, self._policy_for(cmd.policy), workflow.now())

        self._check(check)

    # ----- promotion -----------------------------------------------------------------------

    @workflow.update
    async def request_promotion(self, cmd: PromoteCommand) -> CommandResult:
        """Open an approval request to run the system in production."""
        if self._seen(cmd.meta):
            return self._replay(cmd.meta)
        return await self._started(self._promote(cmd))

    def _promote(self, cmd: PromoteCommand) -> CommandResult:
        """Decide and store the promotion request (no await: nothing interleaves)."""
        view = self._current()
        policy = self._adopt(cmd.policy)
        production = self._production(view, policy, cmd.shared_credentials)
        request = self._promotion_request(view, cmd, policy, production)
        view = self._open_request(
            view.model_copy(update={"production_requirements": production}), request, blocking=True
        )
        self._event(
            cmd.meta.principal,
            A.promotion_requested,
            request.id,
            required_roles=[r.value for r in request.required_roles],
            comment=cmd.comment,
            risk_tier=production.risk_tier.value,
        )
        roles = ", ".join(r.value for r in request.required_roles)
        message = f"promotion requested ({request.id}); awaiting {roles}"
        return self._commit(cmd.meta, view, message, E.request_promotion)

    def _production(
        self, view: SystemView, policy: Policy, shared: dict[str, list[str]]
    ) -> GovernanceRequirements:
        """The declared manifest's production requirements now (with credential sharing)."""
        return classify_for_production(
            view.manifest, policy, now=workflow.now(), shared_credentials=shared
        )

    @request_promotion.validator
    def _validate_promotion(self, cmd: PromoteCommand) -> None:
        def check() -> None:
            if self._seen(cmd.meta):
                return
            view = self._current()
            require(view.state, E.request_promotion, self._id)
            policy = self._policy_for(cmd.policy)
            production = self._production(view, policy, cmd.shared_credentials)
            waived = self._waived_codes(view)
            problems = [
                Problem(g.field, f"[{g.nhi}] {g.message}" if g.nhi else g.message)
                for g in production.blocking_gaps
                if g.code not in waived
            ]
            problems += [
                Problem(
                    f"policy.role_groups.{role.value}",
                    f"no one holds role {role.value}: add members",
                )
                for role in production.required_roles
                if not role_holders(view.manifest, policy, role)
            ]
            if problems:
                raise GovernanceError(
                    f"cannot promote {self._id}: {len(problems)} blocking gap(s): "
                    + "; ".join(p.message for p in problems),
                    problems,
                    "conflict",
                )

        self._check(check)

    def _promotion_request(
        self,
        view: SystemView,
        cmd: PromoteCommand,
        policy: Policy,
        production: GovernanceRequirements,
    ) -> ApprovalRequest:
        request = new_request(
            request_id=next_request_id(view),
            view=view,
            policy=policy,
            requester=cmd.meta.principal,
            kind=RequestKind.promotion,
            roles=production.required_roles,
            summary=f"Promote {view.manifest.name} ({self._id}) to production",
            production=production,
            now=workflow.now(),
        )
        waived = self._waived(view)
        return request.model_copy(update={"waived": waived}) if waived else request

    def _promotion_closed(
        self, meta: CommandMeta, view: SystemView, request: ApprovalRequest
    ) -> CommandResult | None:
        """Approved: production, and the first recertification cycle. Otherwise back to pilot."""
        if view.pending_request is None or view.pending_request.id != request.id:
            return None
        approved = request.status is RequestStatus.approved
        self._event(
            "threshold",
            audit_action("promotion", request.status.value),
            request.id,
            reason=request.reason,
            approvers=request.approvers,
        )
        update: dict[str, object] = {"pending_request": None}
        if approved:
            self._event("threshold", A.entered_production, request.id)
            update |= {"approved_manifest": view.manifest, "last_reason": ""}
            view = self._start_recertification(view.model_copy(update=update))
            message = f"{request.id} approved: {self._id} is in production"
            return self._commit(meta, view, message, E.promotion_approved)
        update["last_reason"] = f"{request.status.value}: {request.reason}"
        message = f"{request.id} {request.status.value}: {self._id} is back in pilot"
        return self._commit(meta, view.model_copy(update=update), message, E.promotion_closed)

    def _closers(self) -> dict[RequestKind, Closer]:
        """Who moves the lifecycle on when a request of each kind settles."""
        return {
            RequestKind.promotion: self._promotion_closed,
            RequestKind.revalidation: self._revalidation_closed,
            RequestKind.release: self._release_closed,
            RequestKind.recertification: self._recertification_closed,
            RequestKind.exception: self._exception_closed,
            RequestKind.action: self._action_closed,
        }
