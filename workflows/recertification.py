"""Recertification cycles and time-boxed exceptions on `AISystemWorkflow` (mixed in).

One durable timer serves every deadline of a system: the nearest of its recertification
steps (reminder, request, overdue, containment) and its exceptions' expiries. The run loop
re-arms it whenever the nearest deadline moves (a recertification, a policy change, a grant),
so a new cadence moves the pending timer. State lives in `SystemView`, so it survives
continue-as-new and worker restarts.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.approvals import ApprovalRequest, RequestKind, RequestStatus
    from domain.classification import classify_for_production
    from domain.errors import Conflict, Forbidden, NotFound
    from domain.lifecycle import PRODUCTION_STATES, LifecycleState
    from domain.policy import Policy, Role
    from domain.recertification import (
        CHECKLIST,
        RecertificationStatus,
        RecertStep,
        bring_forward,
        due_steps,
        next_deadline,
        recertification_roles,
        reschedule,
        start_cycle,
    )
    from domain.waivers import (
        GapException,
        WaiverStatus,
        check_grant,
        ended,
        next_expiry,
        replace,
        waived_codes,
    )
    from workflows.changes import _outcome_seen
    from workflows.models import (
        CommandMeta,
        CommandResult,
        GovernanceTicketInput,
        GrantExceptionCommand,
        PeopleNotice,
        PolicyCommand,
        RecertifyCommand,
        RevokeExceptionCommand,
        SystemView,
        TicketSyncResult,
    )
    from workflows.scope import new_request, role_holders

S = LifecycleState
RECERT_PATCH = "recertification"
SIDE_TIMEOUT = timedelta(seconds=60)
SIDE_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=0)
NOTIFY_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=2), maximum_attempts=30)


def _day(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d}"


def derive_state(view: SystemView) -> LifecycleState:
    """A production system's state: overdue, then revalidation, then recertification due."""
    if view.state not in PRODUCTION_STATES:
        return view.state
    pending = view.pending_request
    base = (
        S.revalidation_pending
        if pending is not None and pending.kind is RequestKind.revalidation
        else S.production
    )
    recert = view.recertification
    if recert is not None and recert.overdue:
        return S.overdue
    if recert is not None and recert.due and base is S.production:
        return S.recertification_due
    return base


class Recertification:
    """Recertification and exceptions half of `AISystemWorkflow` (state lives on the workflow)."""

    if TYPE_CHECKING:
        _id: str
        _view: SystemView | None
        _policy: Policy
        _processed: dict[str, str]

        def _seen(self, meta: CommandMeta) -> bool: ...
        def _current(self) -> SystemView: ...
        def _replay(self, meta: CommandMeta) -> CommandResult: ...
        def _commit(self, meta: CommandMeta, view: SystemView, message: str) -> CommandResult: ...
        def _internal(self, view: SystemView) -> SystemView: ...
        def _event(
            self, actor: str, action: str, request_id: str | None = None, **detail: object
        ) -> None: ...
        @staticmethod
        def _check(check: object) -> None: ...
        async def _start_approval(self, request: ApprovalRequest) -> Any: ...
        def _approval_id(self, request_id: str) -> str: ...

    _timer: asyncio.Task[None] | None = None
    _timer_at: datetime | None = None
    _side: list[asyncio.Task[None]]
    _ticket_lock: asyncio.Lock

    def _init_deadlines(self) -> None:
        self._timer, self._timer_at, self._side = None, None, []
        self._ticket_lock = asyncio.Lock()

    # ----- the one timer -------------------------------------------------------------------

    def _nearest(self) -> datetime | None:
        """The nearest recertification or exception deadline, if any."""
        view = self._view
        if view is None:
            return None
        moments: list[datetime] = []
        if view.recertification is not None and view.state in PRODUCTION_STATES | {S.contained}:
            step = next_deadline(view.recertification)
            if step is not None:
                moments.append(step[0])
        expiring = next_expiry(view.exceptions)
        if expiring is not None:
            moments.append(expiring.until)
        return min(moments) if moments else None

    def _deadline_moved(self) -> bool:
        return self._nearest() != self._timer_at

    def _deadline_reached(self) -> bool:
        return self._timer is not None and self._timer.done()

    def _arm(self) -> None:
        """Keep exactly one timer, for the nearest deadline."""
        nearest = self._nearest()
        if nearest == self._timer_at and self._timer is not None:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, nearest
        if nearest is not None:
            seconds = max((nearest - workflow.now()).total_seconds(), 0.001)
            self._timer = asyncio.create_task(asyncio.sleep(seconds))

    async def _on_deadlines(self) -> None:
        """The timer fired: run every step that is due now, then re-arm."""
        self._timer, self._timer_at = None, None
        now = workflow.now()
        view = self._current()
        for exception in list(view.exceptions):
            if exception.status is WaiverStatus.active and exception.until <= now:
                await self._lapse(exception, WaiverStatus.expired, "threshold")
        view = self._current()
        recert = view.recertification
        if recert is not None and view.state in PRODUCTION_STATES | {S.contained}:
            for step in due_steps(recert, now):
                await self._recert_step(step)
        self._arm()

    async def _settle_side(self) -> None:
        """Before continue-as-new or the end: let notifications and tickets finish."""
        for task in self._side:
            await task
        self._side = []
        if self._timer is not None:
            self._timer.cancel()

    def _spawn(self, job: Any) -> None:
        self._side = [t for t in self._side if not t.done()]
        self._side.append(asyncio.create_task(job))

    # ----- recertification steps -----------------------------------------------------------

    def _start_recertification(self, view: SystemView) -> SystemView:
        """Entering production: the first cycle starts now (new histories only)."""
        if not workflow.patched(RECERT_PATCH):
            return view
        tier = view.production_requirements.risk_tier
        recert = start_cycle(workflow.now(), tier, self._policy)
        self._event(
            "threshold",
            "recertification_scheduled",
            cycle=recert.cycle,
            due_at=recert.due_at.isoformat(),
            cadence_days=recert.cadence_days,
        )
        return view.model_copy(update={"recertification": recert})

    def _owners(self, view: SystemView) -> list[str]:
        manifest = view.approved_manifest or view.manifest
        people = [manifest.technical_owner, manifest.business_owner]
        return [str(p).lower() for p in people if p]

    async def _recert_step(self, step: RecertStep) -> None:
        view = self._current()
        recert = view.recertification
        assert recert is not None
        now = workflow.now()
        if step is RecertStep.remind:
            owners = self._owners(view)
            self._event(
                "threshold",
                "recertification_reminder",
                cycle=recert.cycle,
                due_at=recert.due_at.isoformat(),
                owners=owners,
            )
            self._internal(
                view.model_copy(
                    update={"recertification": recert.model_copy(update={"reminded_at": now})}
                )
            )
            self._notify(
                f"recert-remind:{self._id}:{recert.cycle}",
                owners,
                f"Reminder: {view.manifest.name} ({self._id}) is due for recertification on "
                f"{_day(recert.due_at)}. Attest with `threshold recertify {self._id}`.",
            )
        elif step is RecertStep.request:
            await self._open_recertification("threshold", "due")
        elif step is RecertStep.overdue:
            self._overdue(view, recert, now)
        elif step is RecertStep.contain and view.state not in PRODUCTION_STATES:
            # Already closed for another reason: this cycle's containment has nothing to do.
            self._internal(
                view.model_copy(
                    update={"recertification": recert.model_copy(update={"contain_at": None})}
                )
            )
        elif step is RecertStep.contain:
            updated = recert.model_copy(update={"gate_closed": True})
            self._close_gate(
                view.model_copy(update={"recertification": updated}),
                "overdue_gate_closed",
                f"recertification overdue since {_day(recert.overdue_at)}: the gate is closed "
                f"until {self._id} is recertified (threshold recertify {self._id})",
            )

    async def _open_recertification(self, requester: str, why: str) -> ApprovalRequest:
        """Open the cycle's recertification request for the owners (and security if high)."""
        view = self._current()
        recert = view.recertification
        assert recert is not None
        now = workflow.now()
        tier = recert.risk_tier
        request = new_request(
            request_id=f"{self._id}-{len(view.request_ids) + 1}",
            view=view,
            policy=self._policy,
            requester=requester,
            kind=RequestKind.recertification,
            roles=recertification_roles(tier),
            summary=f"Recertify {view.manifest.name} ({self._id}), cycle {recert.cycle}, "
            f"due {_day(recert.due_at)}",
            production=view.production_requirements,
            now=now,
            change=[f"attest: {item}" for item in CHECKLIST],
        )
        # It stays open through the overdue period, until a full cadence has passed.
        lasts = max(request.expires_at, recert.due_at + timedelta(days=recert.cadence_days))
        request = request.model_copy(update={"expires_at": lasts, "waived": self._waived(view)})
        await self._start_approval(request)
        view = self._current()
        recert = view.recertification or recert
        updated = recert.model_copy(
            update={"requested_at": recert.requested_at or now, "request_id": request.id}
        )
        self._event(
            requester,
            "recertification_requested",
            request.id,
            cycle=recert.cycle,
            due_at=recert.due_at.isoformat(),
            required_roles=[r.value for r in request.required_roles],
            why=why,
        )
        self._internal(
            view.model_copy(
                update={"recertification": updated, "request_ids": [*view.request_ids, request.id]}
            )
        )
        return request

    def _overdue(self, view: SystemView, recert: RecertificationStatus, now: datetime) -> None:
        manifest = view.approved_manifest or view.manifest
        ticket_id = f"{self._id}-recert-{recert.cycle}"
        updated = recert.model_copy(update={"overdue_since": now, "ticket_id": ticket_id})
        security = self._policy.members(Role.security.value)
        self._event(
            "threshold",
            "recertification_overdue",
            recert.request_id,
            cycle=recert.cycle,
            due_at=recert.due_at.isoformat(),
        )
        self._event("threshold", "recertification_escalated", recert.request_id, security=security)
        self._internal(view.model_copy(update={"recertification": updated}))
        self._notify(
            f"recert-overdue:{self._id}:{recert.cycle}",
            sorted({*self._owners(view), *security}),
            f"{manifest.name} ({self._id}) is overdue for recertification (due "
            f"{_day(recert.due_at)}). Owners: attest with `threshold recertify {self._id}`.",
        )
        self._ticket(self._overdue_ticket(view, updated), "recertification_ticket_opened")

    def _overdue_ticket(
        self,
        view: SystemView,
        recert: RecertificationStatus,
        notes: tuple[tuple[str, str], ...] = (),
    ) -> GovernanceTicketInput:
        manifest = view.approved_manifest or view.manifest
        tech, business = manifest.technical_owner, manifest.business_owner
        lines = [
            f"{manifest.name} ({self._id}) missed its recertification: due "
            f"{_day(recert.due_at)}, grace ended {_day(recert.overdue_at)}.",
            "",
            f"*Assignee:* {tech} (technical owner)",
            f"*Business owner:* {business} (please watch)",
            f"*Risk tier:* {recert.risk_tier.value}; cadence {recert.cadence_days} days",
            f"*Open request:* {recert.request_id or 'none: run threshold recertify'}",
            f"*Recertify:* threshold recertify {self._id}",
            "*Checklist:* " + "; ".join(CHECKLIST),
        ]
        if recert.contain_at is not None:
            lines.append(f"*The gate closes on:* {_day(recert.contain_at)}")
        assert recert.ticket_id is not None
        return GovernanceTicketInput(
            ticket_id=recert.ticket_id,
            system_id=self._id,
            kind="recertification_overdue",
            summary=f"Recertification overdue: {manifest.name} ({self._id}), cycle {recert.cycle}",
            description="\n".join(lines),
            assignee=str(tech).lower() if tech else None,
            watchers=[str(business).lower()] if business else [],
            due=_day(recert.overdue_at),
            notes=list(notes),
            close=bool(notes),
        )

    def _recertification_closed(self, request: ApprovalRequest) -> None:
        """A recertification request settled: approved starts the next cycle."""
        view = self._view
        recert = view.recertification if view else None
        if view is None or recert is None or recert.request_id != request.id:
            return
        now = workflow.now()
        if request.status is not RequestStatus.approved:
            self._event(
                "threshold",
                "recertification_" + request.status.value,
                request.id,
                reason=request.reason,
            )
            why = f"recertification {request.id} {request.status.value}: {request.reason}"
            self._internal(
                view.model_copy(
                    update={
                        "recertification": recert.model_copy(update={"request_id": None}),
                        "last_reason": why + f"; run threshold recertify {self._id} again",
                    }
                )
            )
            return
        tier = view.production_requirements.risk_tier
        fresh = start_cycle(now, tier, self._policy, previous=recert)
        approvers = [d.principal for d in request.decisions if d.approve]
        reopen = view.state is S.contained and recert.gate_closed
        self._event(
            "threshold",
            "recertified",
            request.id,
            cycle=recert.cycle,
            approvers=approvers,
            attested=list(CHECKLIST),
            next_due_at=fresh.due_at.isoformat(),
            reopened=reopen,
        )
        update: dict[str, Any] = {"recertification": fresh}
        if reopen:
            update |= {"state": S.production, "last_reason": ""}
        elif view.last_reason.startswith("recertification"):
            update["last_reason"] = ""
        self._internal(view.model_copy(update=update))
        if recert.ticket_id is not None:
            note = (
                f"Recertified by {', '.join(approvers)} ({request.id}); the next cycle is due "
                f"{_day(fresh.due_at)}. Closing."
            )
            job = self._overdue_ticket(view, recert, (("recertified", note),))
            self._ticket(job, "recertification_ticket_closed")

    # ----- effects ---------------------------------------------------------------------------

    def _notify(self, key: str, people: list[str], text: str) -> None:
        """Direct-message people through Slack (when configured), off the workflow's path."""
        notice = PeopleNotice(key=key, system_id=self._id, people=people, text=text)
        self._spawn(self._run_side("notify_people", notice, NOTIFY_RETRY))

    def _ticket(self, job: GovernanceTicketInput, action: str) -> None:
        """Open or update a governance ticket, one at a time, and audit its key."""

        async def run() -> None:
            async with self._ticket_lock:
                result = await self._run_side(
                    "sync_governance_ticket", job, SIDE_RETRY, TicketSyncResult
                )
            if not isinstance(result, TicketSyncResult):
                return
            key = result.key
            self._event("threshold", action, job.ticket_id, ticket=key, tracker=result.tracker)
            view = self._current()
            recert = view.recertification
            if recert is not None and recert.ticket_id == job.ticket_id and recert.ticket != key:
                self._internal(
                    view.model_copy(
                        update={"recertification": recert.model_copy(update={"ticket": key})}
                    )
                )

        self._spawn(run())

    async def _run_side(
        self, name: str, arg: object, retry: RetryPolicy, result_type: type | None = None
    ) -> Any:
        try:
            return await workflow.execute_activity(
                name,
                arg,
                result_type=result_type,
                start_to_close_timeout=SIDE_TIMEOUT,
                retry_policy=retry,
            )
        except ActivityError as error:
            self._event("threshold", "notification_failed", activity=name, error=str(error.cause))
            return None

    def _close_gate(self, view: SystemView, action: str, reason: str) -> None:
        """Contain the system: every gate closes (issue 6 unifies this with `contain`)."""
        self._event("threshold", action, reason=reason)
        self._internal(view.model_copy(update={"state": S.contained, "last_reason": reason}))

    # ----- exceptions -----------------------------------------------------------------------

    def _waived(self, view: SystemView) -> list[str]:
        now = workflow.now()
        return [
            f"{e.gap} until {_day(e.until)} ({e.request_id}, granted by {', '.join(e.granted_by)})"
            for e in view.exceptions
            if e.waives(now)
        ]

    def _waived_codes(self, view: SystemView) -> set[str]:
        return waived_codes(view.exceptions, workflow.now())

    async def _lapse(self, exception: GapException, status: WaiverStatus, actor: str) -> None:
        """An active waiver ends: the gap counts again (revalidate or contain, per policy)."""
        view = self._current()
        now = workflow.now()
        still = [g for g in view.production_requirements.gaps if g.code == exception.gap]
        action = "exception_expired" if status is WaiverStatus.expired else "exception_revoked"
        self._event(
            actor,
            action,
            exception.request_id,
            gap=exception.gap,
            until=exception.until.isoformat(),
            gap_present=bool(still),
        )
        view = view.model_copy(
            update={"exceptions": replace(view.exceptions, ended(exception, status, now, actor))}
        )
        production = view.state in PRODUCTION_STATES
        owners = self._owners(view)
        verb = "expired" if status is WaiverStatus.expired else "was revoked"
        text = f"The waiver of gap {exception.gap} on {self._id} {verb}"
        if not still or not production:
            self._internal(view)
            self._notify(f"waiver-end:{exception.request_id}", owners, text + ".")
            return
        if self._policy.exceptions.on_expiry == "contain":
            reason = f"{text} and the gap is still there: {still[0].message}"
            self._close_gate(view, "exception_gate_closed", reason)
        else:
            lapsed = sorted({*view.lapsed_gaps, exception.gap})
            reason = (
                f"{text}; the gap is still there ({still[0].message}): production is held "
                "until it is fixed, a new exception is granted or the revalidation is approved"
            )
            view = self._internal(
                view.model_copy(update={"lapsed_gaps": lapsed, "last_reason": reason})
            )
            if view.pending_request is None:
                await self._revalidate_lapsed(view, f"{text}: {still[0].message}")
        self._notify(f"waiver-end:{exception.request_id}", owners, reason)
        manifest = view.approved_manifest or view.manifest
        self._ticket(
            GovernanceTicketInput(
                ticket_id=f"{exception.request_id}-lapsed",
                system_id=self._id,
                kind="exception_expired",
                summary=f"Exception lapsed: gap {exception.gap} on {manifest.name} ({self._id})",
                description="\n".join(
                    [
                        reason,
                        "",
                        f"*Exception:* {exception.request_id}, reason: {exception.reason}",
                        f"*Assignee:* {manifest.technical_owner} (technical owner)",
                        f"*Business owner:* {manifest.business_owner}",
                        f"*Policy:* exceptions.on_expiry = {self._policy.exceptions.on_expiry}",
                    ]
                ),
                assignee=str(manifest.technical_owner or "").lower() or None,
                watchers=[str(manifest.business_owner).lower()] if manifest.business_owner else [],
            ),
            "exception_ticket_opened",
        )

    async def _revalidate_lapsed(self, view: SystemView, what: str) -> None:
        """Open a revalidation of the system as it stands, now that a gap counts again."""
        roles = list(dict.fromkeys([Role.technical_owner, *self._policy.exceptions.approver_roles]))
        request = new_request(
            request_id=f"{self._id}-{len(view.request_ids) + 1}",
            view=view,
            policy=self._policy,
            requester="threshold",
            kind=RequestKind.revalidation,
            roles=roles,
            summary=f"Revalidate {view.manifest.name} ({self._id}): {what}",
            production=view.production_requirements,
            now=workflow.now(),
            change=[what],
        )
        child = await self._start_approval(request)
        child.add_done_callback(_outcome_seen)
        view = self._current()
        self._event(
            "threshold",
            "revalidation_requested",
            request.id,
            required_roles=[r.value for r in roles],
            changes=request.change,
            outcome="exception_expired",
        )
        self._internal(
            view.model_copy(
                update={"pending_request": request, "request_ids": [*view.request_ids, request.id]}
            )
        )

    @workflow.update
    async def request_exception(self, cmd: GrantExceptionCommand) -> CommandResult:
        """Ask security to waive one gap until a moment (an approval request of kind exception)."""
        if self._seen(cmd.meta):
            return self._replay(cmd.meta)
        view = self._current()
        self._policy = cmd.policy
        now = workflow.now()
        gaps = self._gaps(cmd)
        gap = next(g for g in gaps if g.code == cmd.gap)
        request = new_request(
            request_id=f"{self._id}-{len(view.request_ids) + 1}",
            view=view,
            policy=cmd.policy,
            requester=cmd.meta.principal,
            kind=RequestKind.exception,
            roles=cmd.policy.exceptions.approver_roles,
            summary=f"Waive gap {cmd.gap} of {view.manifest.name} ({self._id}) until "
            f"{_day(cmd.until)}",
            production=view.production_requirements,
            now=now,
            change=[
                f"waive {cmd.gap}: {gap.message}",
                f"until {cmd.until.isoformat()}",
                f"reason: {cmd.reason}",
            ],
        )
        child = await self._start_approval(request)
        child.add_done_callback(_outcome_seen)  # a revoked request ends cancelled, by design
        exception = GapException(
            gap=cmd.gap,
            until=cmd.until,
            reason=cmd.reason,
            requested_by=cmd.meta.principal.lower(),
            requested_at=now,
            request_id=request.id,
        )
        view = self._current()
        self._event(
            cmd.meta.principal,
            "exception_requested",
            request.id,
            gap=cmd.gap,
            until=cmd.until.isoformat(),
            reason=cmd.reason,
            required_roles=[r.value for r in request.required_roles],
        )
        roles = ", ".join(r.value for r in request.required_roles)
        return self._commit(
            cmd.meta,
            view.model_copy(
                update={
                    "exceptions": [*view.exceptions, exception],
                    "request_ids": [*view.request_ids, request.id],
                }
            ),
            f"exception {request.id} for gap {cmd.gap} until {_day(cmd.until)} awaits {roles}",
        )

    def _gaps(self, cmd: GrantExceptionCommand) -> list[Any]:
        view = self._current()
        production = classify_for_production(
            view.manifest, cmd.policy, now=workflow.now(), shared_credentials=cmd.shared_credentials
        )
        return list(production.gaps)

    @request_exception.validator
    def _validate_exception(self, cmd: GrantExceptionCommand) -> None:
        def check() -> None:
            if self._seen(cmd.meta):
                return
            view = self._current()
            if view.state in (S.retired, S.contained):
                raise Conflict(f"system {self._id} is {view.state.value}; it takes no exception")
            check_grant(
                gap=cmd.gap,
                until=cmd.until,
                reason=cmd.reason,
                now=workflow.now(),
                policy=cmd.policy,
                gaps=self._gaps(cmd),
                exceptions=view.exceptions,
            )
            for role in cmd.policy.exceptions.approver_roles:
                if not role_holders(view.manifest, cmd.policy, role):
                    raise Conflict(f"no one holds role {role.value}: add members to grant")

        self._check(check)

    def _exception_closed(self, request: ApprovalRequest) -> None:
        view = self._view
        if view is None:
            return
        found = next((e for e in view.exceptions if e.request_id == request.id), None)
        if found is None or found.status is not WaiverStatus.pending:
            return
        now = workflow.now()
        if request.status is RequestStatus.approved and found.until > now:
            granted = [d.principal for d in request.decisions if d.approve]
            new = found.model_copy(update={"status": WaiverStatus.active, "granted_by": granted})
            self._event(
                "threshold",
                "exception_granted",
                request.id,
                gap=found.gap,
                until=found.until.isoformat(),
                granted_by=granted,
            )
            lapsed = [code for code in view.lapsed_gaps if code != found.gap]
            update: dict[str, Any] = {
                "exceptions": replace(view.exceptions, new),
                "lapsed_gaps": lapsed,
            }
        else:
            new = ended(found, WaiverStatus.rejected, now)
            self._event(
                "threshold",
                "exception_rejected",
                request.id,
                gap=found.gap,
                status=request.status.value,
                reason=request.reason,
            )
            update = {"exceptions": replace(view.exceptions, new)}
        self._internal(view.model_copy(update=update))

    @workflow.update
    async def revoke_exception(self, cmd: RevokeExceptionCommand) -> CommandResult:
        """End a pending or active exception now; an active one's gap counts again at once."""
        if self._seen(cmd.meta):
            return self._replay(cmd.meta)
        found = self._find_exception(cmd.exception)
        now = workflow.now()
        if found.status is WaiverStatus.active:
            await self._lapse(found, WaiverStatus.revoked, cmd.meta.principal)
        else:
            view = self._current()
            self._event(
                cmd.meta.principal,
                "exception_revoked",
                found.request_id,
                gap=found.gap,
                reason=cmd.reason,
                was="pending",
            )
            revoked = ended(found, WaiverStatus.revoked, now, cmd.meta.principal)
            self._internal(
                view.model_copy(update={"exceptions": replace(view.exceptions, revoked)})
            )
            handle = workflow.get_external_workflow_handle(self._approval_id(found.request_id))
            try:
                await handle.cancel()
            except Exception as error:  # closed meanwhile; its signal then finds it revoked
                self._event("threshold", "withdraw_failed", found.request_id, error=str(error))
        return self._commit(
            cmd.meta, self._current(), f"exception {found.request_id} (gap {found.gap}) revoked"
        )

    @revoke_exception.validator
    def _validate_revoke(self, cmd: RevokeExceptionCommand) -> None:
        def check() -> None:
            if self._seen(cmd.meta):
                return
            found = self._find_exception(cmd.exception)
            who = cmd.meta.principal.lower()
            allowed = {found.requested_by, *self._policy.members(Role.security.value)}
            if who not in allowed and not cmd.as_admin:
                raise Forbidden(
                    f"{cmd.meta.principal} may not revoke {found.request_id}: "
                    "only security or its requester may"
                )

        self._check(check)

    def _find_exception(self, ref: str) -> GapException:
        view = self._current()
        for exception in reversed(view.exceptions):
            if ref in (exception.request_id, exception.gap) and exception.status in (
                WaiverStatus.pending,
                WaiverStatus.active,
            ):
                return exception
        raise NotFound(f"{self._id} has no pending or active exception {ref!r}")

    # ----- recertify and policy -------------------------------------------------------------

    @workflow.update
    async def open_recertification(self, cmd: RecertifyCommand) -> CommandResult:
        """Open this cycle's recertification request now, unless one is open (then return it)."""
        if self._seen(cmd.meta):
            return self._replay(cmd.meta)
        self._policy = cmd.policy
        recert = self._current().recertification
        assert recert is not None
        if recert.request_id is not None:
            message = f"recertification {recert.request_id} is open"
            return self._commit(cmd.meta, self._current(), message)
        request = await self._open_recertification("threshold", f"asked by {cmd.meta.principal}")
        return self._commit(cmd.meta, self._current(), f"recertification {request.id} opened")

    @open_recertification.validator
    def _validate_open_recertification(self, cmd: RecertifyCommand) -> None:
        def check() -> None:
            if self._seen(cmd.meta):
                return
            view = self._current()
            recert = view.recertification
            closed_by_us = view.state is S.contained and recert is not None and recert.gate_closed
            if recert is None and view.state in PRODUCTION_STATES:
                raise Conflict(
                    f"system {self._id} has no recertification cycle yet: an admin runs "
                    "`threshold policy apply` to start one"
                )
            if recert is None or not (view.state in PRODUCTION_STATES or closed_by_us):
                raise Conflict(
                    f"system {self._id} is {view.state.value}; only a production system is "
                    "recertified"
                )
            if recert.request_id is None:
                roles = recertification_roles(recert.risk_tier)
                owners = view.approved_manifest or view.manifest
                holders = {p for r in roles for p in role_holders(owners, cmd.policy, r)}
                if cmd.meta.principal.lower() not in holders:
                    raise Forbidden(
                        f"{cmd.meta.principal} holds none of the roles that recertify {self._id} "
                        f"({', '.join(r.value for r in roles)})"
                    )

        self._check(check)

    @workflow.update
    def apply_policy(self, cmd: PolicyCommand) -> CommandResult:
        """Take a new policy: the pending recertification deadlines move to its cadence."""
        if self._seen(cmd.meta):
            return self._replay(cmd.meta)
        view = self._current()
        self._policy = cmd.policy
        recert = view.recertification
        message = f"policy {cmd.policy.version} applied to {self._id}"
        if recert is None and view.state in PRODUCTION_STATES:
            view = self._start_recertification(view)  # in production before recertification
            if view.recertification is not None:
                message += f"; recertification due {_day(view.recertification.due_at)}"
        elif recert is not None:
            tier = view.production_requirements.risk_tier
            moved = reschedule(recert, cmd.policy, tier)
            if moved.due_at != recert.due_at:
                self._event(
                    cmd.meta.principal,
                    "recertification_rescheduled",
                    policy=cmd.policy.version,
                    due_at=moved.due_at.isoformat(),
                    was=recert.due_at.isoformat(),
                )
                message += f"; recertification now due {_day(moved.due_at)}"
            view = view.model_copy(update={"recertification": moved})
        return self._commit(cmd.meta, view, message)

    def _material_change(self, view: SystemView) -> SystemView:
        """A material change brings the next recertification forward (policy)."""
        recert = view.recertification
        if recert is None:
            return view
        moved = bring_forward(recert, workflow.now(), self._policy)
        if moved.due_at != recert.due_at:
            self._event(
                "threshold",
                "recertification_rescheduled",
                due_at=moved.due_at.isoformat(),
                was=recert.due_at.isoformat(),
                why="material change",
            )
        return view.model_copy(update={"recertification": moved})


__all__ = ["RECERT_PATCH", "Recertification", "derive_state"]
