"""`ApprovalWorkflow`: one approval request, decided by people, reminded, escalated, expired."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from domain.approvals import (
    ApprovalRequest,
    RequestKind,
    RequestStatus,
    apply_decision,
    choose_role,
    escalate,
    expire,
    withdraw,
)
from domain.audit import AuditAction as A
from domain.audit import audit_action
from domain.contracts import (
    ApprovalWorkflowInput,
    DecideCommand,
    DecideResult,
    RequestClosed,
    SlackSyncInput,
    SlackSyncResult,
    TicketSyncInput,
    WithdrawSignal,
)
from domain.errors import GovernanceError
from workflows import effects
from workflows.recorder import Recorder, refusal

ArgT = TypeVar("ArgT")
ResT = TypeVar("ResT")

NOTIFY_TIMEOUT = timedelta(seconds=60)
NOTIFY_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=2), maximum_attempts=30)
# A tracker outage delays the ticket, never loses it: retry until it is back.
TICKET_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=0)
# How long the first Slack message waits for the ticket key before going out without it.
TICKET_GRACE = timedelta(seconds=10)


@workflow.defn
class ApprovalWorkflow:
    """Collects decisions for one request, tells Slack, escalates, expires, reports to its system."""

    @workflow.init
    def __init__(self, input: ApprovalWorkflowInput) -> None:
        self._request = input.request
        self._parent = input.parent_workflow_id
        self._rec = Recorder(f"approval:{input.request.id}")
        self._version = 0
        self._results: dict[str, str] = {}
        self._publish = False
        self._remind = False
        self._reminded = False
        self._slack_enabled = True
        self._reported: set[str] = set()
        self._ticket_wanted = 0
        self._ticket_synced = 0
        self._running: dict[str, asyncio.Task[None]] = {}
        self._grace_over = False

    @workflow.run
    async def run(self, input: ApprovalWorkflowInput) -> ApprovalRequest:
        """Wait for decisions or deadlines; records are written before the system is told."""
        self._changed()
        dispatcher = asyncio.create_task(self._dispatch_loop())
        grace = asyncio.create_task(asyncio.sleep(TICKET_GRACE.total_seconds()))
        grace.add_done_callback(self._end_grace)
        await self._until_settled()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await workflow.wait_condition(
            lambda: not self._rec.pending and "record" not in self._running
        )
        await self._tell_system()
        await dispatcher
        return self._request

    async def _tell_system(self) -> None:
        """Signal the system that the request settled (a retired system is gone: audit it)."""
        parent = workflow.get_external_workflow_handle(self._parent)
        try:
            await parent.signal("request_closed", RequestClosed(request=self._request))
        except Exception as error:  # the system closed meanwhile (retired)
            self._event("threshold", A.system_not_told, error=str(error))

    def _end_grace(self, _: asyncio.Task[None]) -> None:
        self._grace_over = True

    def _job_done(self, name: str, _: asyncio.Task[None]) -> None:
        self._running.pop(name, None)

    async def _dispatch_loop(self) -> None:
        """Start every activity of the request from here: records, then ticket, then Slack.

        Activities that complete in the same workflow task may resume their coroutines in a
        different order on replay than when they ran; starting activities only here, once the
        whole activation is applied and in a fixed order, makes the commands a function of
        the request's state alone. Ends when the request is closed and everything is out.
        """
        while True:
            await workflow.wait_condition(lambda: bool(self._due()) or self._drained())
            if self._drained():
                return
            for name in self._due():
                task = asyncio.create_task(self._job(name))
                task.add_done_callback(functools.partial(self._job_done, name))
                self._running[name] = task

    def _due(self) -> list[str]:
        """The jobs that should start now, in their fixed order (none already running)."""
        due = {
            "record": self._rec.pending,
            "ticket": self._ticket_behind(),
            "slack": self._remind or (self._publish and self._slack_enabled and self._slack_may()),
        }
        return [name for name, wanted in due.items() if wanted and name not in self._running]

    def _slack_may(self) -> bool:
        """The first message waits (a short grace) for the ticket key, unless closed already."""
        ticketless = self._request.kind is RequestKind.action  # minutes long: no change ticket
        return ticketless or self._ticket_synced > 0 or not self._pending() or self._grace_over

    def _drained(self) -> bool:
        """Closed, nothing queued, nothing running: the request has nothing left to tell."""
        return (
            self._settled()
            and not self._running
            and not self._rec.pending
            and not self._remind
            and not (self._publish and self._slack_enabled)
        )

    async def _job(self, name: str) -> None:
        """Run one job's activity (the dispatcher starts at most one per name at a time)."""
        if name == "record":
            await self._rec.flush_once()
        elif name == "ticket":
            await self._sync_ticket()
        elif self._remind:
            await self._send_reminder()
        else:
            await self._sync_slack()

    async def _send_reminder(self) -> None:
        """Remind the approvers still to decide (Slack), once per reminder."""
        self._remind = False
        await self._notify(effects.remind_slack_approvers, self._request)

    async def _sync_slack(self) -> None:
        """Bring the Slack messages up to the request's current version."""
        self._publish = False
        job = SlackSyncInput(request=self._request, version=self._version)
        result = await self._notify(effects.sync_slack_messages, job)
        if result is not None:
            self._after_sync(result)

    async def _until_settled(self) -> None:
        """Wait for decisions or deadlines until the request is no longer pending."""
        while self._pending():
            deadline, on_deadline = self._next_deadline()
            await self._wait_until(deadline)
            if self._pending() and workflow.now() >= deadline:
                on_deadline()

    @workflow.signal
    def withdraw(self, signal: WithdrawSignal) -> None:
        """Its system withdraws the request: it closes without a decision, saying why."""
        if not self._pending():
            return
        self._request = withdraw(self._request, workflow.now(), f"withdrawn: {signal.reason}")
        self._changed()

    def _pending(self) -> bool:
        return self._request.status is RequestStatus.pending

    def _next_deadline(self) -> tuple[datetime, Callable[[], None]]:
        request = self._request
        if request.remind_at is not None and not self._reminded:
            return request.remind_at, self._on_reminder
        if not request.escalated:
            return request.escalate_at, self._on_escalation
        return request.expires_at, self._on_expiry

    async def _wait_until(self, deadline: datetime) -> None:
        """Flush records as they come while waiting for a decision or the deadline.

        One durable timer per deadline (not one per wait), so a decision costs no timer churn.
        """
        remaining = (deadline - workflow.now()).total_seconds()
        if remaining <= 0:
            return
        timer = asyncio.create_task(asyncio.sleep(remaining))
        try:
            await workflow.wait_condition(lambda: not self._pending() or timer.done())
        finally:
            timer.cancel()

    def _on_reminder(self) -> None:
        self._reminded = True
        self._remind = True
        pending = [r.value for r in self._request.pending_roles]
        self._event("threshold", A.approval_reminder, pending_roles=pending)

    def _on_escalation(self) -> None:
        request = self._request
        self._reminded = True
        self._request = escalate(request)
        self._event(
            "threshold",
            A.approval_escalated,
            pending_roles=[r.value for r in request.pending_roles],
            fallback=request.fallback,
        )
        self._changed()

    def _on_expiry(self) -> None:
        pending = [r.value for r in self._request.pending_roles]
        self._request = expire(self._request, workflow.now())
        self._event("threshold", A.approval_expired, pending_roles=pending)
        self._changed()

    def _changed(self, *, ticket: bool = True) -> None:
        """The request changed: record it, tell Slack and (unless only its key came) the ticket."""
        self._ticket_wanted += ticket and self._request.kind is not RequestKind.action
        self._version += 1
        self._rec.request = self._request
        self._rec.request_version = self._version
        self._publish = True

    def _event(self, actor: str, action: A, **detail: object) -> None:
        self._rec.event(
            system_id=self._request.system_id,
            actor=actor,
            action=action,
            request_id=self._request.id,
            **detail,
        )

    # ----- notifications -------------------------------------------------------------------

    def _settled(self) -> bool:
        """Closed, and the ticket shows it (so no key can arrive for Slack any more)."""
        return not self._pending() and not self._ticket_behind()

    def _ticket_behind(self) -> bool:
        return self._ticket_synced < self._ticket_wanted

    async def _sync_ticket(self) -> None:
        """Bring the ticket up to the request as it is now; a new key is recorded and published."""
        wanted = self._ticket_wanted
        result = await self._notify(
            effects.sync_change_ticket,
            TicketSyncInput(request=self._request),
            retry_policy=TICKET_RETRY,
            report_once=True,
        )
        self._ticket_synced = wanted
        if result is not None and result.key != self._request.ticket:
            self._request = self._request.model_copy(update={"ticket": result.key})
            self._event("threshold", A.ticket_opened, ticket=result.key, tracker=result.tracker)
            self._changed(ticket=False)

    async def _notify(
        self,
        activity: Callable[[ArgT], ResT],
        arg: ArgT,
        retry_policy: RetryPolicy = NOTIFY_RETRY,
        report_once: bool = False,
    ) -> ResT | None:
        """Run a notification activity; a failure is audited (once per message if asked)."""
        name = getattr(activity, "__name__", "activity")
        try:
            return await workflow.execute_activity(
                activity, arg, start_to_close_timeout=NOTIFY_TIMEOUT, retry_policy=retry_policy
            )
        except ActivityError as error:
            problem = f"{name}: {error.cause}"
            if report_once and problem in self._reported:
                return None
            if report_once:
                self._reported.add(problem)
            self._event("threshold", A.notification_failed, activity=name, error=str(error.cause))
            return None

    def _after_sync(self, result: SlackSyncResult) -> None:
        self._slack_enabled = result.enabled
        fresh = [p for p in result.problems if p not in self._reported]
        if fresh:
            self._reported.update(fresh)
            self._event("threshold", A.slack_delivery_failed, problems=fresh)

    # ----- queries and updates -------------------------------------------------------------

    @workflow.query
    def request(self) -> ApprovalRequest:
        """The request as it stands now."""
        return self._request

    @workflow.update
    def decide(self, cmd: DecideCommand) -> DecideResult:
        """Record one approve or reject; the last approval or any rejection settles the request."""
        if cmd.meta.command_id in self._results:
            return DecideResult(
                command_id=cmd.meta.command_id,
                request=self._request,
                message=self._results[cmd.meta.command_id],
            )
        self._request = apply_decision(self._request, cmd.decision, workflow.now())
        decision = self._request.decisions[-1]
        verb = "approved" if decision.approve else "rejected"
        self._event(
            decision.principal,
            audit_action("decision", verb),
            role=decision.role.value,
            comment=decision.comment,
            via=decision.via,
        )
        self._changed()
        message = f"{decision.principal} {verb} as {decision.role.value}"
        if not self._pending():
            message += f"; request {self._request.status.value}"
        else:
            message += "; still needed: " + ", ".join(r.value for r in self._request.pending_roles)
        self._results[cmd.meta.command_id] = message
        return DecideResult(command_id=cmd.meta.command_id, request=self._request, message=message)

    @decide.validator
    def _validate_decide(self, cmd: DecideCommand) -> None:
        if cmd.meta.command_id in self._results:
            return
        try:
            choose_role(self._request, cmd.decision)
        except GovernanceError as error:
            raise refusal(error) from None
