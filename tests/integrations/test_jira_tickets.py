"""The change-ticket activity against the Jira emulator: assignee, due date, labels, closing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session
from temporalio.testing import ActivityEnvironment

from activities.jira import ChangeTicketActivities
from core.settings import JiraSettings
from db.engine import init_db, make_engine
from db.ledger import verify_chains
from db.tables import AuditEntryRow
from domain.approvals import ApprovalRequest, Decision, RequestKind, RequestStatus
from domain.audit import AuditAction
from domain.contracts import TicketSyncInput, TicketSyncResult
from domain.policy import Role
from tests.emulators.jira import JiraEmulator
from tests.integrations.conftest import tracker_for

OPENED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TECH = "ted.tech@example.com"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database."""
    engine = make_engine(f"sqlite:///{tmp_path}/threshold.db")
    init_db(engine)
    yield engine
    engine.dispose()


def pending(kind: RequestKind = RequestKind.promotion) -> ApprovalRequest:
    """A pending request the technical owner and security must approve."""
    return ApprovalRequest(
        id="support-bot-1",
        system_id="support-bot",
        kind=kind,
        summary="Promote support-bot to production",
        requester="rita@example.com",
        required_roles=[Role.technical_owner, Role.security],
        eligible={Role.technical_owner: [TECH], Role.security: ["sam@example.com"]},
        opened_at=OPENED,
        escalate_at=OPENED + timedelta(days=3),
        expires_at=OPENED + timedelta(days=14),
    )


def rejected(request: ApprovalRequest) -> ApprovalRequest:
    """The request after security rejected it."""
    at = OPENED + timedelta(hours=5)
    decision = Decision(
        principal="sam@example.com", role=Role.security, approve=False, comment="no DPIA", at=at
    )
    return request.model_copy(
        update={
            "status": RequestStatus.rejected,
            "decisions": [decision],
            "closed_at": at,
            "reason": "no DPIA",
        }
    )


def sync(jira: JiraEmulator, engine: Engine, request: ApprovalRequest) -> TicketSyncResult:
    """Run the sync_change_ticket activity once, as the worker would."""
    with tracker_for(jira) as tracker:
        activities = ChangeTicketActivities(
            tracker, engine, jira=JiraSettings(), api_url="http://threshold.test"
        )
        env = ActivityEnvironment()
        result: TicketSyncResult = env.run(
            activities.sync_change_ticket, TicketSyncInput(request=request)
        )
        return result


@pytest.fixture(params=["Cloud", "Server"], ids=["cloud", "datacenter"])
def classic(request: pytest.FixtureRequest) -> Iterator[JiraEmulator]:
    """Jira's classic workflow (no Won't Do) on Cloud and Data Center."""
    with JiraEmulator(deployment=request.param, workflow="classic") as server:
        yield server


def test_a_ticket_has_assignee_due_date_and_kind_label(
    classic: JiraEmulator, engine: Engine
) -> None:
    """The issue is assigned to the technical owner, due at expiry, labelled by request kind."""
    ident = classic.add_person(TECH)
    result = sync(classic, engine, pending(RequestKind.revalidation))
    issue = classic.issue(result.key)
    assert issue.assignee == ({"accountId": ident} if classic.cloud else {"name": ident})
    assert issue.duedate == "2026-11-16"
    assert "threshold-revalidation" in issue.labels and "threshold" in issue.labels


def test_an_unknown_technical_owner_leaves_the_ticket_unassigned(
    classic: JiraEmulator, engine: Engine
) -> None:
    """When Jira has no user with the owner's e-mail, the ticket opens unassigned."""
    result = sync(classic, engine, pending())
    assert classic.issue(result.key).assignee is None


def test_a_rejected_request_closes_its_ticket_with_an_outcome_comment(
    classic: JiraEmulator, engine: Engine
) -> None:
    """Without `Won't Do`, the rejected request's ticket reaches a done status, commented."""
    sync(classic, engine, pending())
    result = sync(classic, engine, rejected(pending()))
    assert result.transitioned
    issue = classic.issue(result.key)
    assert (issue.status, issue.resolution) == ("Resolved", "Won't Fix")
    outcome = issue.comments[-1].body
    assert "Outcome: rejected" in outcome and "sam@example.com (security)" in outcome


def test_no_done_transition_is_audited_and_logged(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """When no transition closes the ticket, the log and the audit ledger say so; nothing fails."""
    with JiraEmulator(deployment="Server", workflow="review-only") as jira:
        sync(jira, engine, pending())
        with caplog.at_level(logging.ERROR):
            result = sync(jira, engine, rejected(pending()))
            again = sync(jira, engine, rejected(pending()))
        assert not result.transitioned and not again.transitioned
        assert jira.issue(result.key).status == "Open"
    assert any("stays open" in r.getMessage() for r in caplog.records)
    with Session(engine) as session:
        rows = session.execute(select(AuditEntryRow)).scalars().all()
    assert [r.action for r in rows] == [AuditAction.ticket_transition_failed.value]
    assert rows[0].chain_id == "support-bot"
    assert "Send to review" in rows[0].detail
    assert verify_chains(engine).ok  # the activity's entry chains like any other
