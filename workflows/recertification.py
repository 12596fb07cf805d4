"""Recertification cycles on `AISystemWorkflow` (mixed in): reminder, request, overdue, recertify.

The pure rules are in `domain/recertification.py`; the timer that drives them is in
`workflows/deadlines.py`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow

from domain.approvals import ApprovalRequest, RequestKind, RequestStatus
from domain.audit import AuditAction as A
from domain.audit import audit_action
from domain.contracts import (
    CommandMeta,
    CommandResult,
    GovernanceTicketInput,
    PolicyCommand,
    RecertifyCommand,
    SystemView,
    ticket_people,
)
from domain.errors import Conflict, Forbidden
from domain.lifecycle import PRODUCTION_STATES, LifecycleState
from domain.policy import Role
from domain.recertification import (
    CHECKLIST,
    RecertificationStatus,
    RecertStep,
    bring_forward,
    recertification_roles,
    reschedule,
    start_cycle,
)
from domain.scope import new_request, next_request_id, role_holders
from domain.transitions import LifecycleEvent
from workflows.deadlines import Deadlines, _day

S = LifecycleState
E = LifecycleEvent


class Recertification(Deadlines):
    """Recertification half of `AISystemWorkflow` (state lives on the workflow)."""

    # ----- recertification steps -----------------------------------------------------------

    def _start_recertification(self, view: SystemView) -> SystemView:
        """Entering production (or taking a policy with cadences): the first cycle starts now."""
        tier = view.production_requirements.risk_tier
        recert = start_cycle(workflow.now(), tier, self._policy)
        self._event(
            "threshold",
            A.recertification_scheduled,
            cycle=recert.cycle,
            due_at=recert.due_at.isoformat(),
            cadence_days=recert.cadence_days,
        )
        return view.model_copy(update={"recertification": recert})

    def _recert_step(self, step: RecertStep) -> None:
        view = self._current()
        recert = view.recertification
        assert recert is not None
        now = workflow.now()
        if step is RecertStep.remind:
            owners = self._owners(view)
            self._event(
                "threshold",
                A.recertification_reminder,
                cycle=recert.cycle,
                due_at=recert.due_at.isoformat(),
                owners=owners,
            )
            self._internal(
                view.model_copy(
                    update={"recertification": recert.model_copy(update={"reminded_at": now})}
                ),
                E.recertification_step,
            )
            self._notify(
                f"recert-remind:{self._id}:{recert.cycle}",
                owners,
                f"Reminder: {view.manifest.name} ({self._id}) is due for recertification on "
                f"{_day(recert.due_at)}. Attest with `threshold recertify {self._id}`.",
            )
        elif step is RecertStep.request:
            self._open_recertification("threshold", "due")
        elif step is RecertStep.overdue:
            self._overdue(view, recert, now)
        elif step is RecertStep.contain and view.state not in PRODUCTION_STATES:
            # Already closed for another reason: this cycle's containment has nothing to do.
            self._internal(
                view.model_copy(
                    update={"recertification": recert.model_copy(update={"contain_at": None})}
                ),
                E.recertification_step,
            )
        elif step is RecertStep.contain:
            updated = recert.model_copy(update={"gate_closed": True})
            self._close_gate(
                view.model_copy(update={"recertification": updated}),
                A.overdue_gate_closed,
                f"recertification overdue since {_day(recert.overdue_at)}: the gate is closed "
                f"until {self._id} is recertified (threshold recertify {self._id})",
            )

    def _open_recertification(self, requester: str, why: str) -> ApprovalRequest:
        """Open the cycle's recertification request for the owners (and security if high)."""
        view = self._current()
        recert = view.recertification
        assert recert is not None
        now = workflow.now()
        tier = recert.risk_tier
        request = new_request(
            request_id=next_request_id(view),
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
        updated = recert.model_copy(
            update={"requested_at": recert.requested_at or now, "request_id": request.id}
        )
        self._event(
            requester,
            A.recertification_requested,
            request.id,
            cycle=recert.cycle,
            due_at=recert.due_at.isoformat(),
            required_roles=[r.value for r in request.required_roles],
            why=why,
        )
        view = self._open_request(
            view.model_copy(update={"recertification": updated}), request, blocking=False
        )
        self._internal(view, E.recertification_step)
        return request

    def _overdue(self, view: SystemView, recert: RecertificationStatus, now: datetime) -> None:
        manifest = view.in_force
        ticket_id = f"{self._id}-recert-{recert.cycle}"
        updated = recert.model_copy(update={"overdue_since": now, "ticket_id": ticket_id})
        security = self._policy.members(Role.security.value)
        self._event(
            "threshold",
            A.recertification_overdue,
            recert.request_id,
            cycle=recert.cycle,
            due_at=recert.due_at.isoformat(),
        )
        self._event("threshold", A.recertification_escalated, recert.request_id, security=security)
        self._internal(view.model_copy(update={"recertification": updated}), E.recertification_step)
        self._notify(
            f"recert-overdue:{self._id}:{recert.cycle}",
            sorted({*self._owners(view), *security}),
            f"{manifest.name} ({self._id}) is overdue for recertification (due "
            f"{_day(recert.due_at)}). Owners: attest with `threshold recertify {self._id}`.",
        )
        self._ticket(self._overdue_ticket(view, updated), A.recertification_ticket_opened)

    def _overdue_ticket(
        self,
        view: SystemView,
        recert: RecertificationStatus,
        notes: tuple[tuple[str, str], ...] = (),
    ) -> GovernanceTicketInput:
        manifest = view.in_force
        tech, business = manifest.technical_owner, manifest.business_owner
        assignee, watchers = ticket_people(manifest)
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
            assignee=assignee,
            watchers=watchers,
            due=_day(recert.overdue_at),
            notes=list(notes),
            close=bool(notes),
        )

    def _recertification_closed(
        self, meta: CommandMeta, view: SystemView, request: ApprovalRequest
    ) -> CommandResult | None:
        """A recertification request settled: approved starts the next cycle."""
        recert = view.recertification
        if recert is None or recert.request_id != request.id:
            return None
        if request.status is not RequestStatus.approved:
            self._event(
                "threshold",
                audit_action("recertification", request.status.value),
                request.id,
                reason=request.reason,
            )
            why = f"recertification {request.id} {request.status.value}: {request.reason}"
            update = {
                "recertification": recert.model_copy(update={"request_id": None}),
                "last_reason": why + f"; run threshold recertify {self._id} again",
            }
            return self._commit(meta, view.model_copy(update=update), why, E.recertification_step)
        fresh = start_cycle(
            workflow.now(), view.production_requirements.risk_tier, self._policy, previous=recert
        )
        reopen = view.state is S.contained and recert.gate_closed
        self._event(
            "threshold",
            A.recertified,
            request.id,
            cycle=recert.cycle,
            approvers=request.approvers,
            attested=list(CHECKLIST),
            next_due_at=fresh.due_at.isoformat(),
            reopened=reopen,
        )
        changes: dict[str, Any] = {"recertification": fresh}
        if reopen or view.last_reason.startswith("recertification"):
            changes["last_reason"] = ""
        result = self._commit(
            meta,
            view.model_copy(update=changes),
            f"{request.id} approved: {self._id} recertified until {_day(fresh.due_at)}",
            E.gate_reopened if reopen else E.recertified,
        )
        if recert.ticket_id is not None:
            note = (
                f"Recertified by {', '.join(request.approvers)} ({request.id}); the next cycle "
                f"is due {_day(fresh.due_at)}. Closing."
            )
            job = self._overdue_ticket(view, recert, (("recertified", note),))
            self._ticket(job, A.recertification_ticket_closed)
        return result

    # ----- recertify and policy -------------------------------------------------------------

    @workflow.update
    async def open_recertification(self, cmd: RecertifyCommand) -> CommandResult:
        """Open this cycle's recertification request now, unless one is open (then return it)."""
        if self._seen(cmd.meta):
            return self._replay(cmd.meta)
        return await self._started(self._open_now(cmd))

    def _open_now(self, cmd: RecertifyCommand) -> CommandResult:
        """Open the cycle's request, or answer with the one already open."""
        self._adopt(cmd.policy)
        recert = self._current().recertification
        assert recert is not None
        if recert.request_id is not None:
            message = f"recertification {recert.request_id} is open"
            return self._commit(cmd.meta, self._current(), message)
        request = self._open_recertification("threshold", f"asked by {cmd.meta.principal}")
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
                policy = self._policy_for(cmd.policy)
                holders = {p for r in roles for p in role_holders(view.in_force, policy, r)}
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
        policy = self._adopt(cmd.policy)
        recert = view.recertification
        message = f"policy {policy.version} applied to {self._id}"
        if recert is None and view.state in PRODUCTION_STATES:
            view = self._start_recertification(view)  # in production before recertification
            if view.recertification is not None:
                message += f"; recertification due {_day(view.recertification.due_at)}"
        elif recert is not None:
            tier = view.production_requirements.risk_tier
            moved = reschedule(recert, policy, tier)
            if moved.due_at != recert.due_at:
                self._event(
                    cmd.meta.principal,
                    A.recertification_rescheduled,
                    policy=policy.version,
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
                A.recertification_rescheduled,
                due_at=moved.due_at.isoformat(),
                was=recert.due_at.isoformat(),
                why="material change",
            )
        return view.model_copy(update={"recertification": moved})


__all__ = ["Recertification"]
