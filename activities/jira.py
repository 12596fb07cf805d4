"""Change-request tickets per approval request: in Jira when configured, else the local tracker.

One activity, `sync_change_ticket`, makes the ticket match the request: it opens the ticket once
(Jira: looked up by a deterministic label before creating), adds a comment for each decision,
escalation and expiry not delivered yet (remembered in `ticket_events`), and transitions it when
the request closes. Every step is idempotent, so Temporal may retry the whole call.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.shield import shielded
from core.settings import JiraSettings
from db.ledger import append_events
from db.tables import TicketRow
from db.tickets import (
    LOCAL,
    TicketDraft,
    add_jira_ticket,
    get_ticket,
    open_local_ticket,
    remember_ticket_event,
    set_ticket_status,
    ticket_events,
)
from domain.approvals import ApprovalRequest
from domain.audit import AuditAction
from domain.contracts import AuditEvent, GovernanceTicketInput, TicketSyncInput, TicketSyncResult
from integrations.jira_tracker import (
    ChangeTracker,
    TrackerPermanentError,
    TrackerTransientError,
    TransitionUnavailable,
)
from integrations.jira_transitions import APPROVED_RESOLUTIONS, REJECTED_RESOLUTIONS
from integrations.ticket_text import (
    DONE,
    closing_comment,
    closing_note,
    closing_status,
    kind_label,
    technical_owner,
    ticket_description,
    ticket_label,
    ticket_notes,
    ticket_summary,
)

CLOSED_EVENT = "closed"
OUTCOME_EVENT = "outcome"
PERMANENT_ERROR_TYPE = "TrackerPermanentError"


def retry_later(exc: TrackerTransientError) -> ApplicationError:
    """A retryable failure; waits as long as Jira's Retry-After asks when it said."""
    delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
    return ApplicationError(str(exc), type="TrackerTransientError", next_retry_delay=delay)


def marker(label: str, event: str) -> str:
    """The tag ending each Jira comment, so a retry can tell the comment already landed."""
    return f"(threshold {label}#{event})"


class ChangeTicketActivities:
    """Ticket activities over a Jira tracker, or the local tracker table when it is None."""

    def __init__(
        self,
        tracker: ChangeTracker | None,
        engine: Engine,
        *,
        jira: JiraSettings,
        api_url: str,
        label_prefix: str = "",
    ) -> None:
        self._jira = tracker
        self._engine = engine
        self._settings = jira
        self._api_url = api_url
        self._prefix = label_prefix

    @activity.defn(name="sync_change_ticket")
    @shielded
    def sync_change_ticket(self, job: TicketSyncInput) -> TicketSyncResult:
        """Open the request's ticket if needed, add missing comments, transition when closed."""
        with Session(self._engine) as session:
            known = get_ticket(session, request_id=job.request.id)
        if self._jira is None or (known is not None and known.tracker == LOCAL):
            return self._sync_local(job.request)  # a request keeps the tracker it started in
        try:
            return self._sync_jira(self._jira, job.request, known)
        except TrackerTransientError as exc:
            activity.logger.warning("jira unavailable for %s: %s", job.request.id, exc)
            raise retry_later(exc) from exc
        except TrackerPermanentError as exc:
            activity.logger.error("jira refused ticket for %s: %s", job.request.id, exc)
            raise ApplicationError(str(exc), type=PERMANENT_ERROR_TYPE, non_retryable=True) from exc

    @activity.defn(name="sync_governance_ticket")
    @shielded
    def sync_governance_ticket(self, job: GovernanceTicketInput) -> TicketSyncResult:
        """A ticket that is not an approval request's: open once, comment, close when asked."""
        draft = TicketDraft(
            request_id=job.ticket_id,
            system_id=job.system_id,
            kind=job.kind,
            summary=f"[Threshold] {job.summary}",
            description=job.description,
        )
        with Session(self._engine) as session:
            known = get_ticket(session, request_id=job.ticket_id)
        try:
            if self._jira is None or (known is not None and known.tracker == LOCAL):
                key = open_local_ticket(self._engine, draft=draft).key
                result = TicketSyncResult(key=key, tracker=LOCAL)
            else:
                key = known.key if known is not None else self._create(self._jira, draft, job)
                result = TicketSyncResult(key=key, tracker="jira", url=self._jira.browse_url(key))
            return self._deliver(job, result)
        except TrackerTransientError as exc:
            activity.logger.warning("jira unavailable for %s: %s", job.ticket_id, exc)
            raise retry_later(exc) from exc
        except TrackerPermanentError as exc:
            activity.logger.error("jira refused ticket %s: %s", job.ticket_id, exc)
            raise ApplicationError(str(exc), type=PERMANENT_ERROR_TYPE, non_retryable=True) from exc

    def _create(self, jira: ChangeTracker, draft: TicketDraft, job: GovernanceTicketInput) -> str:
        """Create (or find by label) the Jira issue of a governance ticket, with its due date."""
        label = ticket_label(job.ticket_id, self._prefix)
        assignee = self._assignee(jira, job.assignee)
        key = jira.ensure_issue(
            label,
            draft.summary,
            draft.description,
            assignee=assignee,
            due=date.fromisoformat(job.due) if job.due else None,
            labels=["threshold", job.kind.replace("_", "-")],
        )
        for email in job.watchers:
            self._watch(jira, key, email)
        with Session(self._engine) as session:
            stored = add_jira_ticket(session, draft=draft, key=key, url=jira.browse_url(key))
            session.commit()
            return stored.key

    @staticmethod
    def _assignee(jira: ChangeTracker, email: str | None) -> str | None:
        """The Jira reference of the assignee; unknown or not visible leaves it unassigned."""
        if not email:
            return None
        try:
            return jira.find_user(email)
        except TrackerPermanentError as exc:
            activity.logger.warning("cannot look up Jira user %s: %s", email, exc)
            return None

    @staticmethod
    def _watch(jira: ChangeTracker, key: str, email: str) -> None:
        """Add a watcher (the business owner); someone Jira does not know is left out."""
        try:
            jira.add_watcher(key, email)
        except TrackerPermanentError as exc:
            activity.logger.warning("cannot add %s as a watcher of %s: %s", email, key, exc)

    def _deliver(self, job: GovernanceTicketInput, result: TicketSyncResult) -> TicketSyncResult:
        """Post the comments not delivered yet, then close (done) when the job says so."""
        label = ticket_label(job.ticket_id, self._prefix)
        jira = self._jira if result.tracker == "jira" else None
        with Session(self._engine) as session:
            done = ticket_events(session, request_id=job.ticket_id)
        retried = activity.info().attempt > 1
        for event, body in job.notes:
            if event in done:
                continue
            if jira is not None:
                tag = marker(label, event)
                if not (retried and jira.has_comment(result.key, tag)):
                    jira.comment(result.key, f"{body}\n\n{tag}")
            self._remember(job.ticket_id, event, body)
            result = result.model_copy(update={"comments": result.comments + 1})
        if not job.close or CLOSED_EVENT in done:
            return result
        if jira is not None:
            closed = self._close(
                jira, result.key, self._settings.done_transition, job.system_id, job.ticket_id
            )
            if closed is None:
                return result
        self._remember(job.ticket_id, CLOSED_EVENT, "closed", DONE)
        return result.model_copy(update={"transitioned": True})

    def _draft(self, request: ApprovalRequest) -> TicketDraft:
        return TicketDraft(
            request_id=request.id,
            system_id=request.system_id,
            kind=request.kind.value,
            summary=ticket_summary(request),
            description=ticket_description(request, self._api_url),
        )

    # ----- local tracker -------------------------------------------------------------------

    def _sync_local(self, request: ApprovalRequest) -> TicketSyncResult:
        """The same ticket life in the local table: THR-<n>, comments as events, a status."""
        ticket = open_local_ticket(self._engine, draft=self._draft(request))
        result = TicketSyncResult(key=ticket.key, tracker=ticket.tracker)
        with Session(self._engine) as session:
            done = ticket_events(session, request_id=request.id)
            fresh = [n for n in ticket_notes(request) if n.event not in done]
            for note in fresh:
                remember_ticket_event(
                    session, request_id=request.id, event=note.event, body=note.body
                )
            status = closing_status(request)
            closing = status is not None and CLOSED_EVENT not in done
            if status is not None and closing:
                remember_ticket_event(
                    session, request_id=request.id, event=CLOSED_EVENT, body=closing_note(request)
                )
                set_ticket_status(session, request_id=request.id, status=status)
            session.commit()
        return result.model_copy(update={"comments": len(fresh), "transitioned": closing})

    # ----- Jira ----------------------------------------------------------------------------

    def _sync_jira(
        self, jira: ChangeTracker, request: ApprovalRequest, known: TicketRow | None
    ) -> TicketSyncResult:
        """Ensure the issue, post missing comments, transition once the request is closed."""
        label = ticket_label(request.id, self._prefix)
        key = known.key if known is not None else self._create_issue(jira, request, label)
        result = TicketSyncResult(key=key, tracker="jira", url=jira.browse_url(key))
        with Session(self._engine) as session:
            done = ticket_events(session, request_id=request.id)
        retried = activity.info().attempt > 1
        for note in ticket_notes(request):
            if note.event in done:
                continue
            tag = marker(label, note.event)
            if not (retried and jira.has_comment(key, tag)):
                jira.comment(key, f"{note.body}\n\n{tag}")
            self._remember(request.id, note.event, note.body)
            result = result.model_copy(update={"comments": result.comments + 1})
        status = closing_status(request)
        if status is None or CLOSED_EVENT in done:
            return result
        if OUTCOME_EVENT not in done:
            tag = marker(label, OUTCOME_EVENT)
            if not (retried and jira.has_comment(key, tag)):
                jira.comment(key, f"{closing_comment(request)}\n\n{tag}")
            self._remember(request.id, OUTCOME_EVENT, closing_comment(request))
        name = (
            self._settings.done_transition if status == DONE else self._settings.rejected_transition
        )
        reached = self._close(jira, key, name, request.system_id, request.id, status == DONE)
        if reached is None:
            return result
        self._remember(
            request.id, CLOSED_EVENT, f"{closing_note(request)}; moved to {reached}", status
        )
        return result.model_copy(update={"transitioned": True})

    def _create_issue(self, jira: ChangeTracker, request: ApprovalRequest, label: str) -> str:
        """The issue found by its label, else created; remembered either way."""
        draft = self._draft(request)
        key = jira.ensure_issue(
            label,
            draft.summary,
            draft.description,
            assignee=self._assignee(jira, technical_owner(request)),
            due=request.expires_at.date(),
            labels=["threshold", kind_label(request.kind.value)],
        )
        with Session(self._engine) as session:
            stored = add_jira_ticket(session, draft=draft, key=key, url=jira.browse_url(key))
            session.commit()
            return stored.key

    def _close(
        self,
        jira: ChangeTracker,
        key: str,
        name: str,
        system_id: str,
        ticket_id: str,
        approved: bool = True,
    ) -> str | None:
        """Transition by name, else into a done status; audit and return None when neither works."""
        prefer = APPROVED_RESOLUTIONS if approved else REJECTED_RESOLUTIONS
        try:
            plan = jira.transition(key, name, prefer=prefer)
        except TransitionUnavailable as exc:
            activity.logger.error("jira ticket %s stays open: %s", key, exc)
            event = AuditEvent(
                event_key=f"ticket:{ticket_id}:transition-failed",
                system_id=system_id,
                at=datetime.now(UTC),
                actor="threshold",
                action=AuditAction.ticket_transition_failed.value,
                request_id=ticket_id,
                detail={
                    "ticket": key,
                    "wanted": name,
                    "available": exc.available,
                    "error": str(exc),
                },
            )
            with Session(self._engine) as session:
                append_events(session, events=[event])
                remember_ticket_event(
                    session, request_id=ticket_id, event="transition-failed", body=str(exc)
                )
                session.commit()
            return None
        if plan is None:
            return name
        how = "by category" if plan.by_category else "by name"
        resolution = f", resolution {plan.resolution}" if plan.resolution else ""
        activity.logger.info("jira %s moved to %s (%s%s)", key, plan.status, how, resolution)
        return plan.status

    def _remember(self, request_id: str, event: str, body: str, status: str | None = None) -> None:
        """Record one delivered event (and the ticket's new status) right after it landed."""
        with Session(self._engine) as session:
            remember_ticket_event(session, request_id=request_id, event=event, body=body)
            if status is not None:
                set_ticket_status(session, request_id=request_id, status=status)
            session.commit()
