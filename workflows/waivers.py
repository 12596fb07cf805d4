"""Time-boxed exceptions on `AISystemWorkflow` (mixed in): request, grant, revoke, expire.

The pure rules are in `domain/waivers.py`; expiry is driven by the timer in
`workflows/deadlines.py`.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from domain.approvals import ApprovalRequest, RequestKind, RequestStatus
from domain.audit import AuditAction as A
from domain.classification import classify_for_production
from domain.contracts import (
    CommandMeta,
    CommandResult,
    GovernanceTicketInput,
    GrantExceptionCommand,
    RevokeExceptionCommand,
    SystemView,
    ticket_people,
)
from domain.errors import Conflict, Forbidden, NotFound
from domain.gate import waiver_lines
from domain.lifecycle import PRODUCTION_STATES, LifecycleState
from domain.policy import Policy, Role
from domain.requirements import Gap
from domain.scope import new_request, next_request_id, role_holders
from domain.transitions import LifecycleEvent
from domain.waivers import (
    GapException,
    WaiverStatus,
    check_grant,
    ended,
    replace,
    waived_codes,
)
from workflows.deadlines import Deadlines, _day

S = LifecycleState
E = LifecycleEvent


class Waivers(Deadlines):
    """Exceptions half of `AISystemWorkflow` (state lives on the workflow)."""

    # ----- exceptions -----------------------------------------------------------------------

    def _waived(self, view: SystemView) -> list[str]:
        return waiver_lines(view, workflow.now())

    def _waived_codes(self, view: SystemView) -> set[str]:
        return waived_codes(view.exceptions, workflow.now())

    def _lapse(self, exception: GapException, status: WaiverStatus, actor: str) -> None:
        """An active waiver ends: the gap counts again (revalidate or contain, per policy)."""
        view = self._current()
        now = workflow.now()
        still = [g for g in view.production_requirements.gaps if g.code == exception.gap]
        action = A.exception_expired if status is WaiverStatus.expired else A.exception_revoked
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
            self._close_gate(view, A.exception_gate_closed, reason)
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
                view = self._revalidate_lapsed(view, f"{text}: {still[0].message}")
        self._notify(f"waiver-end:{exception.request_id}", owners, reason)
        manifest = view.in_force
        assignee, watchers = ticket_people(manifest)
        self._ticket(
            GovernanceTicketInput(
                ticket_id=f"{exception.request_id}-lapsed",
                system_id=self._id,
                kind=A.exception_expired,
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
                assignee=assignee,
                watchers=watchers,
            ),
            A.exception_ticket_opened,
        )

    def _revalidate_lapsed(self, view: SystemView, what: str) -> SystemView:
        """Open a revalidation of the system as it stands, now that a gap counts again."""
        roles = list(dict.fromkeys([Role.technical_owner, *self._policy.exceptions.approver_roles]))
        request = new_request(
            request_id=next_request_id(view),
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
        self._event(
            "threshold",
            A.revalidation_requested,
            request.id,
            required_roles=[r.value for r in roles],
            changes=request.change,
            outcome=A.exception_expired,
        )
        return self._internal(
            self._open_request(view, request, blocking=True), E.revalidation_opened
        )

    @workflow.update
    async def request_exception(self, cmd: GrantExceptionCommand) -> CommandResult:
        """Ask security to waive one gap until a moment (an approval request of kind exception)."""
        if self._seen(cmd.meta):
            return self._replay(cmd.meta)
        return await self._started(self._request_exception(cmd))

    def _request_exception(self, cmd: GrantExceptionCommand) -> CommandResult:
        """Decide and store the exception request (no await: nothing interleaves)."""
        view = self._current()
        policy = self._adopt(cmd.policy)
        now = workflow.now()
        gaps = self._gaps(cmd, policy)
        gap = next(g for g in gaps if g.code == cmd.gap)
        request = new_request(
            request_id=next_request_id(view),
            view=view,
            policy=policy,
            requester=cmd.meta.principal,
            kind=RequestKind.exception,
            roles=policy.exceptions.approver_roles,
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
        exception = GapException(
            gap=cmd.gap,
            until=cmd.until,
            reason=cmd.reason,
            requested_by=cmd.meta.principal.lower(),
            requested_at=now,
            request_id=request.id,
        )
        view = self._open_request(view, request, blocking=False)
        self._event(
            cmd.meta.principal,
            A.exception_requested,
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
                }
            ),
            f"exception {request.id} for gap {cmd.gap} until {_day(cmd.until)} awaits {roles}",
        )

    def _gaps(self, cmd: GrantExceptionCommand, policy: Policy) -> list[Gap]:
        view = self._current()
        production = classify_for_production(
            view.manifest, policy, now=workflow.now(), shared_credentials=cmd.shared_credentials
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
            policy = self._policy_for(cmd.policy)
            check_grant(
                gap=cmd.gap,
                until=cmd.until,
                reason=cmd.reason,
                now=workflow.now(),
                policy=policy,
                gaps=self._gaps(cmd, policy),
                exceptions=view.exceptions,
            )
            for role in policy.exceptions.approver_roles:
                if not role_holders(view.manifest, policy, role):
                    raise Conflict(f"no one holds role {role.value}: add members to grant")

        self._check(check)

    def _exception_closed(
        self, meta: CommandMeta, view: SystemView, request: ApprovalRequest
    ) -> CommandResult | None:
        """An exception request settled: approved (and not yet past) waives its gap."""
        found = next((e for e in view.exceptions if e.request_id == request.id), None)
        if found is None or found.status is not WaiverStatus.pending:
            return None
        now = workflow.now()
        if request.status is RequestStatus.approved and found.until > now:
            granted = request.approvers
            new = found.model_copy(update={"status": WaiverStatus.active, "granted_by": granted})
            self._event(
                "threshold",
                A.exception_granted,
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
                A.exception_rejected,
                request.id,
                gap=found.gap,
                status=request.status.value,
                reason=request.reason,
            )
            update = {"exceptions": replace(view.exceptions, new)}
        message = f"exception {request.id} (gap {found.gap}): {new.status.value}"
        return self._commit(meta, view.model_copy(update=update), message)

    @workflow.update
    def revoke_exception(self, cmd: RevokeExceptionCommand) -> CommandResult:
        """End a pending or active exception now; an active one's gap counts again at once."""
        if self._seen(cmd.meta):
            return self._replay(cmd.meta)
        found = self._find_exception(cmd.exception)
        now = workflow.now()
        if found.status is WaiverStatus.active:
            self._lapse(found, WaiverStatus.revoked, cmd.meta.principal)
        else:
            view = self._current()
            self._event(
                cmd.meta.principal,
                A.exception_revoked,
                found.request_id,
                gap=found.gap,
                reason=cmd.reason,
                was="pending",
            )
            revoked = ended(found, WaiverStatus.revoked, now, cmd.meta.principal)
            self._internal(
                view.model_copy(update={"exceptions": replace(view.exceptions, revoked)})
            )
            self._withdraw_request(
                found.request_id, RequestKind.exception, "the exception was revoked"
            )
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
