"""Containment on `AISystemWorkflow`: contain, release, action findings, credential revocation.

`_contain` is the one way into `contained` (a person's `contain`, an action finding under
`actions.on_finding: contain`): the state changes at once, every bound credential is queued for
the revoker and an incident ticket for the tracker; the main loop runs those activities
(`run_containment_jobs`). Release is an approval request (security and owners).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from domain.approvals import ApprovalRequest, RequestKind, RequestStatus
from domain.audit import AuditAction as A
from domain.audit import audit_action
from domain.contracts import (
    CommandMeta,
    CommandResult,
    ContainCommand,
    GovernanceTicketInput,
    PeopleNotice,
    ReleaseCommand,
    RevokeInput,
    SystemView,
    ticket_people,
)
from domain.errors import Conflict
from domain.lifecycle import LifecycleState
from domain.manifest import Credential
from domain.policy import Policy, Role
from domain.scope import bound_credentials, missing_holders, new_request, next_request_id
from domain.transitions import LifecycleEvent, advance, require
from workflows import effects
from workflows.host import SystemHost

S = LifecycleState
E = LifecycleEvent
RELEASE_ROLES = [Role.security, Role.business_owner, Role.technical_owner]
REVOKE_TIMEOUT = timedelta(minutes=2)
REVOKE_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=5)
INCIDENT_TIMEOUT = timedelta(minutes=1)
INCIDENT_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=0)


class Containment(SystemHost):
    """The containment half of `AISystemWorkflow` (mixed in; state lives on the workflow)."""

    if TYPE_CHECKING:
        _revoke_queue: list[RevokeInput]
        _incident_queue: list[GovernanceTicketInput]
        _notice_queue: list[PeopleNotice]

        def _finish_retirement(self) -> None: ...
        def _withdraw_open(self, view: SystemView, reason: str) -> SystemView: ...

    # ----- contain -------------------------------------------------------------------------

    @workflow.update
    def contain(self, cmd: ContainCommand) -> CommandResult:
        """Contain the system now: gates close, credentials go to the revoker, a ticket opens."""
        if self._seen(cmd.meta):
            return self._replay(cmd.meta)
        return self._contain(cmd.meta, cmd.reason, self._adopt(cmd.policy))

    @contain.validator
    def _validate_contain(self, cmd: ContainCommand) -> None:
        if not self._seen(cmd.meta):
            self._check(lambda: require(self._current().state, E.contain, self._id))

    def _contain(self, meta: CommandMeta, reason: str, policy: Policy) -> CommandResult:
        """The single way into `contained` (containment by a person or by a finding)."""
        view = self._current()
        if view.state in (S.contained, S.retired):
            message = f"{self._id} is already {view.state.value}"
            self._processed[meta.command_id] = message
            return CommandResult(
                command_id=meta.command_id,
                system=view,
                message=message,
                policy_digest=self._policy_digest,
            )
        credentials = bound_credentials(view)
        incident = GovernanceTicketInput(
            ticket_id=f"{next_request_id(view)}-incident-{workflow.uuid4().hex[:6]}",
            system_id=self._id,
            kind="incident",
            summary=f"Incident: {view.manifest.name} ({self._id}) contained",
            description=_incident_text(view, reason, meta.principal, credentials),
            assignee=ticket_people(view.in_force)[0],
        )
        self._event(
            meta.principal,
            A.contained,
            reason=reason,
            previous=view.state.value,
            credentials=[c.id for c in credentials],
        )
        update: dict[str, Any] = {
            "last_reason": f"contained: {reason}",
            "revocations": {c.id: "requested" for c in credentials},
        }
        view = self._withdraw_open(view.model_copy(update=update), "the system was contained")
        self._queue_revocations(credentials, f"contained: {reason}", meta.principal)
        self._incident_queue.append(incident)
        self._tell_owners(
            view,
            policy,
            f"contained:{incident.ticket_id}",
            f"{view.manifest.name} ({self._id}) was contained by {meta.principal}: {reason}. "
            "Every deploy gate is closed and its credentials were handed to the revoker.",
        )
        message = (
            f"{self._id} contained: every environment is closed; "
            f"{len(credentials)} credential(s) handed to the revoker; an incident ticket opens"
        )
        return self._commit(meta, view, message, E.contain)

    def _queue_revocations(self, credentials: list[Credential], reason: str, actor: str) -> None:
        for credential in credentials:
            self._event(
                actor,
                A.credential_revocation_requested,
                credential_id=credential.id,
                environment=credential.environment.value,
                vault_ref=credential.vault_ref,
                reason=reason,
            )
            self._revoke_queue.append(
                RevokeInput(system_id=self._id, credential=credential, reason=reason)
            )

    # ----- jobs the main loop runs ---------------------------------------------------------

    def _jobs_pending(self) -> bool:
        return bool(self._revoke_queue or self._incident_queue or self._notice_queue)

    def _tell_owners(self, view: SystemView, policy: Policy | None, key: str, text: str) -> None:
        """Queue a direct message to the owners and security (Slack, when configured)."""
        owners = view.in_force
        people = [str(p).lower() for p in (owners.business_owner, owners.technical_owner) if p]
        people += policy.members(Role.security.value) if policy is not None else []
        notice_id = f"notice:{self._id}:{key}"[:200]
        notice = PeopleNotice(key=notice_id, system_id=self._id, people=people, text=text)
        self._notice_queue.append(notice)

    async def run_containment_jobs(self) -> None:
        """Hand queued credentials to the revoker and open queued incident tickets."""
        while self._revoke_queue:
            job = self._revoke_queue[0]
            await self._revoke(job)
            self._revoke_queue.pop(0)
        while self._incident_queue:
            incident = self._incident_queue[0]
            await self._open_incident(incident)
            self._incident_queue.pop(0)
        while self._notice_queue:
            notice = self._notice_queue[0]
            try:
                await workflow.execute_activity(
                    effects.notify_people,
                    notice,
                    start_to_close_timeout=REVOKE_TIMEOUT,
                    retry_policy=REVOKE_RETRY,
                )
            except ActivityError as error:
                self._event(
                    "threshold",
                    A.notification_failed,
                    activity="notify_people",
                    error=str(error.cause),
                )
            self._notice_queue.pop(0)
        self._finish_retirement()

    async def _revoke(self, job: RevokeInput) -> None:
        credential = job.credential.id
        try:
            result = await workflow.execute_activity(
                effects.revoke_credential,
                job,
                start_to_close_timeout=REVOKE_TIMEOUT,
                retry_policy=REVOKE_RETRY,
            )
            status = "confirmed" if result.confirmed else f"failed: {result.detail}"
            detail = {"revoker": result.revoker, "detail": result.detail}
        except ActivityError as error:
            status, detail = f"failed: {error.cause}", {"revoker": "", "detail": str(error.cause)}
        action = (
            A.credential_revocation_confirmed
            if status == "confirmed"
            else A.credential_revocation_failed
        )
        self._event("threshold", action, credential_id=credential, **detail)
        view = self._current()
        revocations = {**view.revocations, credential: status}
        self._internal(view.model_copy(update={"revocations": revocations}))

    async def _open_incident(self, incident: GovernanceTicketInput) -> None:
        try:
            result = await workflow.execute_activity(
                effects.sync_governance_ticket,
                incident,
                start_to_close_timeout=INCIDENT_TIMEOUT,
                retry_policy=INCIDENT_RETRY,
            )
        except ActivityError as error:
            self._event(
                "threshold",
                A.notification_failed,
                activity="sync_governance_ticket",
                error=str(error.cause),
            )
            return
        self._event(
            "threshold",
            A.ticket_opened,
            incident.ticket_id,
            ticket=result.key,
            tracker=result.tracker,
            kind="incident",
        )
        self._internal(self._current().model_copy(update={"incident": result.key}))

    # ----- release -------------------------------------------------------------------------

    @workflow.update
    async def release(self, cmd: ReleaseCommand) -> CommandResult:
        """Ask security and the owners to release a contained system."""
        if self._seen(cmd.meta):
            return self._replay(cmd.meta)
        return await self._started(self._release(cmd))

    def _release(self, cmd: ReleaseCommand) -> CommandResult:
        """Decide and store the release request (no await: nothing interleaves)."""
        view = self._current()
        policy = self._adopt(cmd.policy)
        roles = [r for r in RELEASE_ROLES if not missing_holders(view.in_force, policy, [r])]
        request = new_request(
            request_id=next_request_id(view),
            view=view,
            policy=policy,
            requester=cmd.meta.principal,
            kind=RequestKind.release,
            roles=roles,
            summary=f"Release {view.manifest.name} ({self._id}) from containment",
            production=view.production_requirements,
            now=workflow.now(),
            change=[view.last_reason] if view.last_reason else [],
        )
        view = self._open_request(view, request, blocking=True)
        self._event(
            cmd.meta.principal,
            A.release_requested,
            request.id,
            required_roles=[r.value for r in roles],
            comment=cmd.comment,
        )
        names = ", ".join(r.value for r in roles)
        message = f"release requested ({request.id}); awaiting {names}"
        return self._commit(cmd.meta, view, message, E.request_release)

    @release.validator
    def _validate_release(self, cmd: ReleaseCommand) -> None:
        def check() -> None:
            if self._seen(cmd.meta):
                return
            view = self._current()
            require(view.state, E.request_release, self._id)
            if view.retiring:
                raise Conflict(f"system {self._id} is being retired; it cannot be released")
            if view.pending_request is not None:
                raise Conflict(f"release request {view.pending_request.id} is already pending")
            missing = missing_holders(view.in_force, self._policy_for(cmd.policy), [Role.security])
            if missing:
                raise Conflict(f"cannot release {self._id}: no one holds role security")

        self._check(check)

    def _release_closed(
        self, meta: CommandMeta, view: SystemView, request: ApprovalRequest
    ) -> CommandResult | None:
        """Approved: back to the state before containment. Otherwise it stays contained."""
        if view.pending_request is None or view.pending_request.id != request.id:
            return None
        if request.status is RequestStatus.approved:
            update: dict[str, Any] = {"pending_request": None, "last_reason": ""}
            view = view.model_copy(update=update)
            back = advance(view.state, E.released, view.facts(), self._id)
            self._event(
                "threshold", A.released, request.id, state=back.value, approvers=request.approvers
            )
            message = f"{request.id} approved: {self._id} released to {back.value}"
            return self._commit(meta, view, message, E.released)
        why = f"release {request.id} {request.status.value}: {request.reason}"
        update = {"pending_request": None, "last_reason": why}
        self._event(
            "threshold",
            audit_action("release", request.status.value),
            request.id,
            reason=request.reason,
        )
        message = f"{why}; {self._id} stays contained"
        return self._commit(meta, view.model_copy(update=update), message, E.release_closed)


def _incident_text(view: SystemView, reason: str, actor: str, credentials: list[Credential]) -> str:
    lines = [
        f"{view.manifest.name} ({view.system_id}) was contained by {actor}.",
        f"Reason: {reason}",
        f"State before containment: {view.state.value}",
        f"Owners: {view.manifest.business_owner or '-'}, {view.manifest.technical_owner or '-'}",
        "Every deploy gate is closed. Credentials handed to the revoker:",
        *[f"- {c.id} ({c.environment.value}, {c.vault_ref})" for c in credentials],
        f"Release: threshold release {view.system_id} (security and the owners approve).",
    ]
    return "\n".join(lines)
