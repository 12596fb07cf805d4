"""`AISystemWorkflow`: one long-running workflow per AI system, the truth about its lifecycle."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.approvals import ApprovalRequest, RequestKind, RequestStatus
    from domain.classification import classify, classify_for_production
    from domain.errors import Conflict, GovernanceError, NotFound, Problem
    from domain.lifecycle import (
        GateResult,
        LifecycleState,
        Scope,
    )
    from domain.manifest import AISystemManifest, Environment
    from domain.policy import Policy
    from domain.requirements import GovernanceRequirements
    from workflows.changes import ScopeChanges
    from workflows.containment import Containment
    from workflows.deadlines import derive_state
    from workflows.findings import ActionFindings
    from workflows.gate import system_gate
    from workflows.models import (
        AmendCommand,
        CommandMeta,
        CommandResult,
        PromoteCommand,
        RegisterCommand,
        RequestClosed,
        SystemCarried,
        SystemView,
        SystemWorkflowInput,
    )
    from workflows.recertification import Recertification
    from workflows.recorder import LOCAL_RECORD_PATCH, Recorder, refusal
    from workflows.registration import check_registration, registered_view, registration_problems
    from workflows.retirement import Retirement
    from workflows.scope import new_request, next_request_id, role_holders
    from workflows.waivers import Waivers

PROCESSED_KEEP = 500
S = LifecycleState


__all__ = ["AISystemWorkflow", "registration_problems", "role_holders"]


@workflow.defn
class AISystemWorkflow(
    ScopeChanges, Recertification, Waivers, Containment, ActionFindings, Retirement
):
    """Registration → pilot → promotion → production → … → retirement, for one system."""

    @workflow.init
    def __init__(self, input: SystemWorkflowInput) -> None:
        self._id = input.system_id
        self._max_events = input.max_history_events
        carried = input.carried
        self._view: SystemView | None = carried.view if carried else None
        self._policy: Policy = carried.policy if carried else Policy()
        self._processed: dict[str, str] = dict(carried.processed) if carried else {}
        self._rec = Recorder(f"ai-system:{self._id}", carried.event_seq if carried else 0)
        if carried:
            self._rec.events = list(carried.outbox)
            self._rec.system = carried.view if carried.projection_pending else None
        self._finished = False
        self._change_busy = False
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
        self._rec.local = workflow.patched(LOCAL_RECORD_PATCH)
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

    # ----- helpers -------------------------------------------------------------------------

    def _seen(self, meta: CommandMeta) -> bool:
        return meta.command_id in self._processed

    def _current(self) -> SystemView:
        if self._view is None:
            raise refusal(NotFound(f"system {self._id} is not registered"))
        return self._view

    def _replay(self, meta: CommandMeta) -> CommandResult:
        return CommandResult(
            command_id=meta.command_id,
            system=self._current(),
            message=self._processed[meta.command_id],
            duplicate=True,
        )

    def _commit(self, meta: CommandMeta, view: SystemView, message: str) -> CommandResult:
        view = self._internal(view)
        self._processed[meta.command_id] = message
        return CommandResult(command_id=meta.command_id, system=view, message=message)

    def _internal(self, view: SystemView) -> SystemView:
        """Store a new version of the view (state derived) and queue it for the projection."""
        view = view.model_copy(update={"updated_at": workflow.now(), "version": view.version + 1})
        view = view.model_copy(update={"state": derive_state(view)})
        self._view = view
        self._rec.system = view
        return view

    def _event(
        self, actor: str, action: str, request_id: str | None = None, **detail: object
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

    # ----- register / amend ----------------------------------------------------------------

    def _register(self, cmd: RegisterCommand) -> None:
        """The registration the start carries (the API checked it and answered already)."""
        view, message = registered_view(cmd, cmd.at or workflow.now())
        self._policy = cmd.policy
        self._view = view
        self._rec.system = view
        self._processed[cmd.meta.command_id] = message
        actor, requirements = cmd.meta.principal, view.requirements
        self._event(actor, "registered", manifest=cmd.manifest.model_dump(mode="json"))
        self._event(
            actor,
            "entered_pilot",
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
            raise refusal(Conflict(f"system {self._id} is already registered; amend it instead"))

    def _check_manifest(self, manifest: AISystemManifest, policy: Policy) -> None:
        check_registration(self._id, manifest, policy, workflow.now())

    @workflow.update
    def amend(self, cmd: AmendCommand) -> CommandResult:
        """Replace the declared manifest of a pilot system and recompute its requirements."""
        if self._seen(cmd.meta):
            return self._replay(cmd.meta)
        view = self._current()
        now = workflow.now()
        self._policy = cmd.policy
        changed = sorted(
            key
            for key, value in cmd.manifest.model_dump().items()
            if view.manifest.model_dump().get(key) != value
        )
        view = view.model_copy(
            update={
                "manifest": cmd.manifest,
                "requirements": classify(
                    cmd.manifest, cmd.policy, now=now, shared_credentials=cmd.shared_credentials
                ),
                "production_requirements": classify_for_production(
                    cmd.manifest, cmd.policy, now=now, shared_credentials=cmd.shared_credentials
                ),
            }
        )
        self._event(
            cmd.meta.principal,
            "manifest_amended",
            changed=changed,
            manifest=cmd.manifest.model_dump(mode="json"),
        )
        return self._commit(
            cmd.meta, view, f"amended {self._id}: " + (", ".join(changed) or "no change")
        )

    @amend.validator
    def _validate_amend(self, cmd: AmendCommand) -> None:
        def check() -> None:
            if self._seen(cmd.meta):
                return
            view = self._current()
            if view.state is not S.pilot:
                raise Conflict(
                    f"system {self._id} is {view.state.value}; only a pilot system's manifest can be "
                    "amended (production changes go through scope-change events)"
                )
            self._check_manifest(cmd.manifest, cmd.policy)

        self._check(check)

    # ----- promotion -----------------------------------------------------------------------

    @workflow.update
    async def request_promotion(self, cmd: PromoteCommand) -> CommandResult:
        """Open an approval request to run the system in production."""
        if self._seen(cmd.meta):
            return self._replay(cmd.meta)
        view = self._current()
        self._policy = cmd.policy
        production = classify_for_production(
            view.manifest, cmd.policy, now=workflow.now(), shared_credentials=cmd.shared_credentials
        )
        request = self._new_request(view, cmd, production)
        await self._start_approval(request)
        view = self._current().model_copy(
            update={
                "state": S.promotion_pending,
                "production_requirements": production,
                "pending_request": request,
                "request_ids": [*view.request_ids, request.id],
            }
        )
        self._event(
            cmd.meta.principal,
            "promotion_requested",
            request.id,
            required_roles=[r.value for r in request.required_roles],
            comment=cmd.comment,
            risk_tier=production.risk_tier.value,
        )
        roles = ", ".join(r.value for r in request.required_roles)
        return self._commit(cmd.meta, view, f"promotion requested ({request.id}); awaiting {roles}")

    @request_promotion.validator
    def _validate_promotion(self, cmd: PromoteCommand) -> None:
        def check() -> None:
            if self._seen(cmd.meta):
                return
            view = self._current()
            if view.state is not S.pilot:
                pending = f" (request {view.pending_request.id})" if view.pending_request else ""
                raise Conflict(
                    f"system {self._id} is {view.state.value}{pending}; only a pilot can be promoted"
                )
            production = classify_for_production(
                view.manifest,
                cmd.policy,
                now=workflow.now(),
                shared_credentials=cmd.shared_credentials,
            )
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
                if not role_holders(view.manifest, cmd.policy, role)
            ]
            if problems:
                raise Conflict(
                    f"cannot promote {self._id}: {len(problems)} blocking gap(s): "
                    + "; ".join(p.message for p in problems),
                    problems,
                )

        self._check(check)

    def _new_request(
        self, view: SystemView, cmd: PromoteCommand, production: GovernanceRequirements
    ) -> ApprovalRequest:
        request = new_request(
            request_id=next_request_id(view),
            view=view,
            policy=cmd.policy,
            requester=cmd.meta.principal,
            kind=RequestKind.promotion,
            roles=production.required_roles,
            summary=f"Promote {view.manifest.name} ({self._id}) to production",
            production=production,
            now=workflow.now(),
        )
        waived = self._waived(view)
        return request.model_copy(update={"waived": waived}) if waived else request

    @workflow.signal
    def request_closed(self, signal: RequestClosed) -> None:
        """An approval request settled: move the lifecycle on."""
        request = signal.request
        if request.kind is RequestKind.recertification:
            self._recertification_closed(request)
            return
        if request.kind is RequestKind.exception:
            self._exception_closed(request)
            return
        view = self._view
        if view is None or view.pending_request is None or view.pending_request.id != request.id:
            return
        meta = CommandMeta(command_id=f"closed:{request.id}", principal="threshold")
        if self._seen(meta):
            return
        if request.kind is RequestKind.revalidation:
            self._revalidation_closed(meta, view, request)
            return
        if request.kind is RequestKind.release:
            self._release_closed(meta, view, request)
            return
        if request.status is RequestStatus.approved:
            update = {"state": S.production, "approved_manifest": view.manifest, "last_reason": ""}
            message = f"{request.id} approved: {self._id} is in production"
        else:
            update = {"state": S.pilot, "last_reason": f"{request.status.value}: {request.reason}"}
            message = f"{request.id} {request.status.value}: {self._id} is back in pilot"
        self._event(
            "threshold",
            f"promotion_{request.status.value}",
            request.id,
            reason=request.reason,
            approvers=[d.principal for d in request.decisions if d.approve],
        )
        if request.status is RequestStatus.approved:
            self._event("threshold", "entered_production", request.id)
        view = view.model_copy(update={**update, "pending_request": None})
        if request.status is RequestStatus.approved:
            view = self._start_recertification(view)
        self._commit(meta, view, message)
