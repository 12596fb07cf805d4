"""The activities workflows call, by reference: the signatures the worker's implementations match.

Workflows never name an activity by a string. Each function here declares one activity (its
name, argument and result types) for `workflow.execute_activity`, so mypy checks every call
and a rename breaks the build; `activities/` implements them on classes that hold clients, and
a test holds each implementation to its declaration. Keeping the declarations here keeps the
activities' I/O imports (databases, Slack, Jira) out of the workflow sandbox.
"""

from __future__ import annotations

from temporalio import activity

from domain.approvals import ApprovalRequest
from domain.contracts import (
    GovernanceTicketInput,
    PeopleNotice,
    RecordBatch,
    RevokeInput,
    RevokeResult,
    SlackSyncInput,
    SlackSyncResult,
    TicketSyncInput,
    TicketSyncResult,
)
from domain.dormancy import SweepJob, SweepPage
from domain.webhooks import DeliveryInput


def _declared(name: str) -> NotImplementedError:
    return NotImplementedError(f"{name} runs on the worker (activities/), never in a workflow")


@activity.defn(name="record_batch")
def record_batch(batch: RecordBatch) -> int:
    """Apply one batch of records in a single transaction; returns events written."""
    raise _declared("record_batch")


@activity.defn(name="sync_slack_messages")
def sync_slack_messages(job: SlackSyncInput) -> SlackSyncResult:
    """Make Slack show this version of a request (post where missing, update in place)."""
    raise _declared("sync_slack_messages")


@activity.defn(name="remind_slack_approvers")
def remind_slack_approvers(request: ApprovalRequest) -> int:
    """Remind the approvers still to decide."""
    raise _declared("remind_slack_approvers")


@activity.defn(name="notify_people")
def notify_people(notice: PeopleNotice) -> int:
    """Direct-message some people, at most once per notice key and person."""
    raise _declared("notify_people")


@activity.defn(name="sync_change_ticket")
def sync_change_ticket(job: TicketSyncInput) -> TicketSyncResult:
    """Make the request's change ticket show its state (open, comment, transition)."""
    raise _declared("sync_change_ticket")


@activity.defn(name="sync_governance_ticket")
def sync_governance_ticket(job: GovernanceTicketInput) -> TicketSyncResult:
    """Open or update a ticket that is not an approval request (overdue, incident, lapsed)."""
    raise _declared("sync_governance_ticket")


@activity.defn(name="revoke_credential")
def revoke_credential(job: RevokeInput) -> RevokeResult:
    """Hand one credential to the revoker."""
    raise _declared("revoke_credential")


@activity.defn(name="deliver_webhook")
def deliver_webhook(job: DeliveryInput) -> int:
    """POST one stored delivery, signed; the subscriber's status code (a non-2xx raises)."""
    raise _declared("deliver_webhook")


@activity.defn(name="sweep_dormancy")
def sweep_dormancy(job: SweepJob) -> SweepPage:
    """One page of the dormancy sweep: systems dormant as of `job.now`, their findings stored."""
    raise _declared("sweep_dormancy")


DECLARED = (
    record_batch,
    sync_slack_messages,
    remind_slack_approvers,
    notify_people,
    sync_change_ticket,
    sync_governance_ticket,
    revoke_credential,
    deliver_webhook,
    sweep_dormancy,
)
