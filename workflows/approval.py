"""`ApprovalWorkflow`: one approval request, decided by people, reminded, escalated, expired."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.approvals import (
        ApprovalRequest,
        RequestStatus,
        apply_decision,
        choose_role,
        escalate,
        expire,
        withdraw,
    )
    from domain.errors import GovernanceError
    from workflows.models import (
        ApprovalWorkflowInput,
        DecideCommand,
        DecideResult,
        RequestClosed,
        SlackSyncInput,
        SlackSyncResult,
        TicketSyncInput,
        TicketSyncResult,
    )
    from workflows.recorder import Recorder, refusal

NOTIFY_TIMEOUT = timedelta(seconds=60)
NOTIFY_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=2), maximum_attempts=30)
# A tracker outage delays the ticket, never loses it: retry until it is back.
TICKET_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=0)
# How long the first Slack message waits for the ticket key before going out without it.
TICKET_GRACE = timedelta(seconds=10)
TICKETS_PATCH = "change-tickets"
# Runs started since this patch start every activity from one dispatcher, in a fixed order.
DISPATCH_PATCH = "one-dispatcher"
WITHDRAWN_REASON = "withdrawn without a decision (superseded by a newer request)"


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
        self._tickets = False
        self._ticket_wanted = 0
        self._ticket_synced = 0
        self._dispatching = False
        self._running: dict[str, asyncio.Task[None]] = {}
        self._grace_over = False

    @workflow.run
    async def run(self, input: ApprovalWorkflowInput) -> ApprovalRequest:
        """Wait for decisions or deadlines, recording each change, then report the outcome."""
        self._changed()
        self._tickets = workflow.patched(TICKETS_PATCH)
        self._dispatching = workflow.patched(DISPATCH_PATCH)
        if self._dispatching:
            return await self._run_dispatched()
        ticketing = asyncio.create_task(self._ticket_loop()) if self._tickets else None
        publisher = asyncio.create_task(self._notify_loop())
        try:
            await self._until_settled()
        except asyncio.CancelledError:  # withdrawn by its system (e.g. folded into a newer one)
            await self._withdrawn(ticketing, publisher)
            raise
        await self._rec.flush()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._rec.flush()
        parent = workflow.get_external_workflow_handle(self._parent)
        await parent.signal("request_closed", RequestClosed(request=self._request))
        if ticketing is not None:
            await ticketing
        await publisher
        await self._rec.flush()
        return self._request

    async def _run_dispatched(self) -> ApprovalRequest:
        """`run` for runs with the dispatcher: records are written before the system is told."""
        dispatcher = asyncio.create_task(self._dispatch_loop())
        if self._tickets:
            grace = asyncio.create_task(asyncio.sleep(TICKET_GRACE.total_seconds()))
            grace.add_done_callback(self._end_grace)
        try:
            await self._until_settled()
        except asyncio.CancelledError:  # withdrawn by its system (e.g. folded into a newer one)
            if self._pending() and self._tickets:
                self._withdraw()
                await dispatcher
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        await workflow.wait_condition(
            lambda: not self._rec.pending and "record" not in self._running
        )
        parent = workflow.get_external_workflow_handle(self._parent)
        await parent.signal("request_closed", RequestClosed(request=self._request))
        await dispatcher
        return self._request

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
            "ticket": self._tickets and self._ticket_behind(),
            "slack": self._remind or (self._publish and self._slack_enabled and self._slack_may()),
        }
        return [name for name, wanted in due.items() if wanted and name not in self._running]

    def _slack_may(self) -> bool:
        """The first message waits (a short grace) for the ticket key, unless closed already."""
        return (
            not self._tickets or self._ticket_synced > 0 or not self._pending() or self._grace_over
        )

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
        await self._notify("remind_slack_approvers", self._request)

    async def _sync_slack(self) -> None:
        """Bring the Slack messages up to the request's current version."""
        self._publish = False
        job = SlackSyncInput(request=self._request, version=self._version)
        result = await self._notify("sync_slack_messages", job, SlackSyncResult)
        if isinstance(result, SlackSyncResult):
            self._after_sync(result)

    async def _until_settled(self) -> None:
        """Wait for decisions or deadlines until the request is no longer pending."""
        while self._pending():
            deadline, on_deadline = self._next_deadline()
            await self._wait_until(deadline)
            if self._pending() and workflow.now() >= deadline:
                on_deadline()

    async def _withdrawn(self, *loops: asyncio.Task[None] | None) -> None:
        """Cancelled while pending: close the ticket and the Slack messages, then end."""
        if not self._pending() or not self._tickets:
            return
        self._withdraw()
        await self._rec.flush()  # the withdrawn row lands now, not after Slack and the ticket
        for loop in loops:
            if loop is not None:
                await loop
        await self._rec.flush()

    def _withdraw(self) -> None:
        """Close the pending request as withdrawn (its ticket and messages follow)."""
        self._request = withdraw(self._request, workflow.now(), WITHDRAWN_REASON)
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
        if self._dispatching:  # the dispatcher writes the records
            try:
                await workflow.wait_condition(lambda: not self._pending() or timer.done())
            finally:
                timer.cancel()
            return
        try:
            while self._pending() and not timer.done():
                await workflow.wait_condition(
                    lambda: self._rec.pending or not self._pending() or timer.done()
                )
                await self._rec.flush()
        finally:
            timer.cancel()

    def _on_reminder(self) -> None:
        self._reminded = True
        self._remind = True
        pending = [r.value for r in self._request.pending_roles]
        self._event("threshold", "approval_reminder", pending_roles=pending)

    def _on_escalation(self) -> None:
        request = self._request
        self._reminded = True
        self._request = escalate(request)
        self._event(
            "threshold",
            "approval_escalated",
            pending_roles=[r.value for r in request.pending_roles],
            fallback=request.fallback,
        )
        self._changed()

    def _on_expiry(self) -> None:
        pending = [r.value for r in self._request.pending_roles]
        self._request = expire(self._request, workflow.now())
        self._event("threshold", "approval_expired", pending_roles=pending)
        self._changed()

    def _changed(self, *, ticket: bool = True) -> None:
        """The request changed: record it, tell Slack and (unless only its key came) the ticket."""
        self._ticket_wanted += ticket
        self._version += 1
        self._rec.request = self._request
        self._rec.request_version = self._version
        self._publish = True

    def _event(self, actor: str, action: str, **detail: object) -> None:
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
        return not self._pending() and (not self._tickets or not self._ticket_behind())

    def _ticket_behind(self) -> bool:
        return self._ticket_synced < self._ticket_wanted

    async def _notify_loop(self) -> None:
        """Keep Slack in step with the request, off the decision path; ends after closing."""
        if self._tickets:  # the first message shows the ticket key unless the tracker is slow
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._ticket_synced > 0 or not self._pending(),
                    timeout=TICKET_GRACE,
                )
        while True:
            await workflow.wait_condition(lambda: self._publish or self._remind or self._settled())
            if self._remind:
                await self._send_reminder()
            if self._publish and self._slack_enabled:
                await self._sync_slack()
            self._publish = self._publish and self._slack_enabled
            if self._settled() and not self._publish:
                return

    async def _ticket_loop(self) -> None:
        """Keep the change ticket in step: open it, comment each event, transition on close."""
        while True:
            await workflow.wait_condition(self._ticket_behind)
            await self._sync_ticket()
            if not self._pending() and not self._ticket_behind():
                return

    async def _sync_ticket(self) -> None:
        """Bring the ticket up to the request as it is now; a new key is recorded and published."""
        wanted = self._ticket_wanted
        result = await self._notify(
            "sync_change_ticket",
            TicketSyncInput(request=self._request),
            TicketSyncResult,
            retry_policy=TICKET_RETRY,
            report_once=True,
        )
        self._ticket_synced = wanted
        if isinstance(result, TicketSyncResult) and result.key != self._request.ticket:
            self._request = self._request.model_copy(update={"ticket": result.key})
            self._event("threshold", "ticket_opened", ticket=result.key, tracker=result.tracker)
            self._changed(ticket=False)

    async def _notify(
        self,
        name: str,
        arg: object,
        result_type: type | None = None,
        retry_policy: RetryPolicy = NOTIFY_RETRY,
        report_once: bool = False,
    ) -> object:
        """Run a notification activity; a failure is audited (once per message if asked)."""
        try:
            return await workflow.execute_activity(
                name,
                arg,
                result_type=result_type,
                start_to_close_timeout=NOTIFY_TIMEOUT,
                retry_policy=retry_policy,
            )
        except ActivityError as error:
            problem = f"{name}: {error.cause}"
            if report_once and problem in self._reported:
                return None
            if report_once:
                self._reported.add(problem)
            self._event("threshold", "notification_failed", activity=name, error=str(error.cause))
            return None

    def _after_sync(self, result: SlackSyncResult) -> None:
        self._slack_enabled = result.enabled
        fresh = [p for p in result.problems if p not in self._reported]
        if fresh:
            self._reported.update(fresh)
            self._event("threshold", "slack_delivery_failed", problems=fresh)

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
            f"decision_{verb}",
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
