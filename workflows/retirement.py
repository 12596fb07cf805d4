"""Retirement on `AISystemWorkflow`: every credential revoked and confirmed, then retired.

A system with credentials not yet revoked is offboarded: its gates close (state `contained`,
`retiring` set), each credential goes to the revoker, and `_finish_retirement` retires it once
every revocation is confirmed. Open recertification and exception requests are withdrawn; a
pending lifecycle request (promotion, revalidation, release) refuses the retirement until it
is decided, so no request outlives its system.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import workflow

from domain.audit import AuditAction as A
from domain.contracts import CommandMeta, CommandResult, RetireCommand, SystemView
from domain.errors import Conflict
from domain.lifecycle import LifecycleState
from domain.manifest import Credential
from domain.scope import bound_credentials
from domain.transitions import LifecycleEvent, require
from workflows.host import SystemHost

S = LifecycleState
E = LifecycleEvent


class Retirement(SystemHost):
    """The retirement half of `AISystemWorkflow` (mixed in; state lives on the workflow)."""

    if TYPE_CHECKING:

        def _jobs_pending(self) -> bool: ...
        def _queue_revocations(
            self, credentials: list[Credential], reason: str, actor: str
        ) -> None: ...
        def _withdraw_open(
            self, view: SystemView, reason: str, *, every: bool = False
        ) -> SystemView: ...

    @workflow.update
    def retire(self, cmd: RetireCommand) -> CommandResult:
        """Retire the system: every credential is revoked and confirmed, then every gate closes."""
        if self._seen(cmd.meta):
            return self._replay(cmd.meta)
        view = self._withdraw_open(self._current(), "the system is retiring", every=True)
        unrevoked = [
            c for c in bound_credentials(view) if view.revocations.get(c.id) != "confirmed"
        ]
        if unrevoked:
            return self._offboard(cmd, view, unrevoked)
        self._event(cmd.meta.principal, A.retired, reason=cmd.reason)
        self._finished = True
        view = view.model_copy(update={"last_reason": cmd.reason})
        return self._commit(cmd.meta, view, f"{self._id} retired", E.retire)

    def _offboard(
        self, cmd: RetireCommand, view: SystemView, credentials: list[Credential]
    ) -> CommandResult:
        """Close every gate and revoke each credential; retired once all are confirmed."""
        revocations = {**view.revocations, **{c.id: "requested" for c in credentials}}
        update: dict[str, object] = {
            "retiring": cmd.reason,
            "revocations": revocations,
            "last_reason": f"retiring: {cmd.reason}",
        }
        self._queue_revocations(credentials, f"retired: {cmd.reason}", cmd.meta.principal)
        names = ", ".join(c.id for c in credentials)
        message = (
            f"retiring {self._id}: every gate is closed; revoking {names}; "
            "retired once each revocation is confirmed"
        )
        return self._commit(cmd.meta, view.model_copy(update=update), message, E.retirement_started)

    @retire.validator
    def _validate_retire(self, cmd: RetireCommand) -> None:
        def check() -> None:
            if self._seen(cmd.meta):
                return
            view = self._current()
            if view.pending_request is not None:
                raise Conflict(
                    f"request {view.pending_request.id} is pending; decide it or let it expire first"
                )
            if view.retiring and self._jobs_pending():
                raise Conflict(f"system {self._id} is being retired; revocations are running")
            require(view.state, E.retire, self._id)

        self._check(check)

    def _finish_retirement(self) -> None:
        """Retire once every credential's revocation is confirmed."""
        view = self._view
        if view is None or not view.retiring or view.state is S.retired:
            return
        if any(status != "confirmed" for status in view.revocations.values()):
            return
        self._event("threshold", A.retired, reason=view.retiring, revoked=sorted(view.revocations))
        meta = CommandMeta(command_id=f"retired:{self._id}", principal="threshold")
        self._commit(meta, view, f"{self._id} retired", E.retirement_confirmed)
        self._finished = True
