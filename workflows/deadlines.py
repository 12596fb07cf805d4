"""The one durable timer and the side effects shared by recertification and exceptions.

One timer serves every deadline of a system: the nearest of its recertification steps
(reminder, request, overdue, containment) and its exceptions' expiries. The run loop re-arms it
whenever the nearest deadline moves (a recertification, a policy change, a grant), so a new
cadence moves the pending timer. State lives in `SystemView`, so it survives continue-as-new
and worker restarts. Notifications and tickets run beside the workflow, never blocking it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from domain.audit import AuditAction as A
from domain.contracts import GovernanceTicketInput, PeopleNotice, SystemView
from domain.lifecycle import PRODUCTION_STATES, LifecycleState
from domain.recertification import RecertStep, due_steps, next_deadline
from domain.transitions import LifecycleEvent
from domain.waivers import GapException, WaiverStatus, next_expiry
from workflows import effects
from workflows.host import SystemHost

S = LifecycleState
E = LifecycleEvent
ArgT = TypeVar("ArgT")
ResT = TypeVar("ResT")
SIDE_TIMEOUT = timedelta(seconds=60)
SIDE_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=0)
NOTIFY_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=2), maximum_attempts=30)


def _day(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d}"


class Deadlines(SystemHost):
    """The timer and side effects of `AISystemWorkflow` (mixed in; state lives on the workflow)."""

    if TYPE_CHECKING:

        def _recert_step(self, step: RecertStep) -> None: ...
        def _lapse(self, exception: GapException, status: WaiverStatus, actor: str) -> None: ...
        def _waived(self, view: SystemView) -> list[str]: ...

    _jobs: list[asyncio.Task[None]]
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
                self._lapse(exception, WaiverStatus.expired, "threshold")
        view = self._current()
        recert = view.recertification
        if recert is not None and view.state in PRODUCTION_STATES | {S.contained}:
            for step in due_steps(recert, now):
                self._recert_step(step)
        self._arm()

    async def _settle_side(self) -> None:
        """Before continue-as-new or the end: let starts, withdrawals, notices and tickets finish."""
        while self._jobs or self._side:  # a signal handled meanwhile may spawn more
            tasks = [*self._jobs, *self._side]
            self._jobs, self._side = [], []
            for task in tasks:
                await task
        if self._timer is not None:
            self._timer.cancel()

    def _spawn(self, job: Any) -> None:
        self._side = [t for t in self._side if not t.done()]
        self._side.append(asyncio.create_task(job))

    def _owners(self, view: SystemView) -> list[str]:
        manifest = view.in_force
        people = [manifest.technical_owner, manifest.business_owner]
        return [str(p).lower() for p in people if p]

    # ----- effects ---------------------------------------------------------------------------

    def _notify(self, key: str, people: list[str], text: str) -> None:
        """Direct-message people through Slack (when configured), off the workflow's path."""
        notice = PeopleNotice(key=key, system_id=self._id, people=people, text=text)
        self._spawn(self._run_side(effects.notify_people, notice, NOTIFY_RETRY))

    def _ticket(self, job: GovernanceTicketInput, action: A) -> None:
        """Open or update a governance ticket, one at a time, and audit its key."""

        async def run() -> None:
            async with self._ticket_lock:
                result = await self._run_side(effects.sync_governance_ticket, job, SIDE_RETRY)
            if result is None:
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
        self, activity: Callable[[ArgT], ResT], arg: ArgT, retry: RetryPolicy
    ) -> ResT | None:
        """Run a side activity; a failure is audited, never raised into the lifecycle."""
        try:
            return await workflow.execute_activity(
                activity, arg, start_to_close_timeout=SIDE_TIMEOUT, retry_policy=retry
            )
        except ActivityError as error:
            name = getattr(activity, "__name__", "activity")
            self._event("threshold", A.notification_failed, activity=name, error=str(error.cause))
            return None

    def _close_gate(self, view: SystemView, action: A, reason: str) -> None:
        """Close every gate for a missed deadline; credentials stay (a person's `contain` revokes).

        `contained_from` lets a release approval reopen it as `threshold release` does for any
        containment; recertifying reopens a system its recertification closed.
        """
        self._event("threshold", action, reason=reason)
        self._internal(view.model_copy(update={"last_reason": reason}), E.gate_closed)
