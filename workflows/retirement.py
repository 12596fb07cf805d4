"""Retirement on `AISystemWorkflow`: every credential revoked and confirmed, then retired.

A system with credentials not yet revoked is offboarded: its gates close (state `contained`,
`retiring` set), each credential goes to the revoker, and `_finish_retirement` retires it once
every revocation is confirmed. Older runs (before revocation) retire at once, as they did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.errors import Conflict
    from domain.lifecycle import LifecycleState
    from domain.manifest import Credential
    from workflows.containment import bound_credentials
    from workflows.host import SystemHost
    from workflows.models import CommandMeta, CommandResult, RetireCommand

S = LifecycleState
RETIRE_REVOKES = "retire-revokes-credentials"


class Retirement(SystemHost):
    """The retirement half of `AISystemWorkflow` (mixed in; state lives on the workflow)."""

    if TYPE_CHECKING:

        def _jobs_pending(self) -> bool: ...
        def _queue_revocations(
            self, credentials: list[Credential], reason: str, actor: str
        ) -> None: ...

    @workflow.update
    def retire(self, cmd: RetireCommand) -> CommandResult:
        """Retire the system: every credential is revoked and confirmed, then every gate closes."""
        if self._seen(cmd.meta):
            return self._replay(cmd.meta)
        if workflow.patched(RETIRE_REVOKES):
            unrevoked = [
                c
                for c in bound_credentials(self._current())
                if self._current().revocations.get(c.id) != "confirmed"
            ]
            if unrevoked:
                return self._offboard(cmd, unrevoked)
        view = self._current().model_copy(update={"state": S.retired, "last_reason": cmd.reason})
        self._event(cmd.meta.principal, "retired", reason=cmd.reason)
        self._finished = True
        return self._commit(cmd.meta, view, f"{self._id} retired")

    def _offboard(self, cmd: RetireCommand, credentials: list[Credential]) -> CommandResult:
        """Close every gate and revoke each credential; retired once all are confirmed."""
        view = self._current()
        revocations = {**view.revocations, **{c.id: "requested" for c in credentials}}
        update: dict[str, object] = {
            "retiring": cmd.reason,
            "revocations": revocations,
            "last_reason": f"retiring: {cmd.reason}",
        }
        if view.state is not S.contained:
            update |= {"state": S.contained, "contained_from": view.state}
        self._queue_revocations(credentials, f"retired: {cmd.reason}", cmd.meta.principal)
        names = ", ".join(c.id for c in credentials)
        message = (
            f"retiring {self._id}: every gate is closed; revoking {names}; "
            "retired once each revocation is confirmed"
        )
        return self._commit(cmd.meta, view.model_copy(update=update), message)

    @retire.validator
    def _validate_retire(self, cmd: RetireCommand) -> None:
        def check() -> None:
            if self._seen(cmd.meta):
                return
            view = self._current()
            if view.state is S.retired:
                raise Conflict(f"system {self._id} is already retired")
            if view.retiring and self._jobs_pending():
                raise Conflict(f"system {self._id} is being retired; revocations are running")
            if view.pending_request is not None:
                raise Conflict(
                    f"request {view.pending_request.id} is pending; decide it or let it expire first"
                )

        self._check(check)

    def _finish_retirement(self) -> None:
        """Retire once every credential's revocation is confirmed."""
        view = self._view
        if view is None or not view.retiring or view.state is S.retired:
            return
        if any(status != "confirmed" for status in view.revocations.values()):
            return
        self._event("threshold", "retired", reason=view.retiring, revoked=sorted(view.revocations))
        meta = CommandMeta(command_id=f"retired:{self._id}", principal="threshold")
        self._commit(meta, view.model_copy(update={"state": S.retired}), f"{self._id} retired")
        self._finished = True
