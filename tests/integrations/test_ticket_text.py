"""Ticket text from an approval request: the label, the description and the comments."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from activities.slack import request_links
from core.settings import JiraSettings
from domain.approvals import Decision, RequestStatus
from domain.policy import Role
from integrations.slack_blocks import approval_blocks
from integrations.ticket_text import (
    LABEL,
    closing_status,
    ticket_description,
    ticket_label,
    ticket_notes,
)
from tests.db.conftest import NOW, approval_request


def test_labels_are_deterministic_and_safe_for_jira() -> None:
    """Plain ids keep their shape; ids with spaces or quotes are rewritten yet stay distinct."""
    assert ticket_label("support-bot-1") == "threshold-support-bot-1"
    assert ticket_label("support-bot-1", "t1-") == "threshold-t1-support-bot-1"
    odd, other = ticket_label('a b"1'), ticket_label("a_b'1")
    assert odd == ticket_label('a b"1') and odd != other
    assert LABEL.fullmatch(odd) and " " not in odd and len(ticket_label("x" * 400)) == 255


def test_description_names_system_ask_assessment_and_approvers() -> None:
    """The description carries the system, what is asked, the change, why, and who approves."""
    request = approval_request(
        "s1-2", "s1", change=["new write access: crm.accounts"], why=["customer-facing"]
    )
    text = ticket_description(request, "http://threshold")
    for part in (
        "s1-2",
        "s1",
        "crm.accounts",
        "customer-facing",
        "bea@example.com",
        "ted@example.com",
    ):
        assert part in text, part
    assert "http://threshold/api/v1/requests/s1-2" in text
    assert "*Request page:* http://threshold/requests/s1-2" in text  # the dashboard's page


def test_notes_follow_decisions_escalation_and_expiry_in_time_order() -> None:
    """A decision before escalation, the escalation naming the fallback, then the expiry."""
    decision = Decision(
        principal="bea@example.com",
        role=Role.business_owner,
        approve=True,
        at=NOW + timedelta(hours=1),
    )
    request = approval_request("s1-1", "s1").model_copy(
        update={
            "decisions": [decision],
            "escalated": True,
            "status": RequestStatus.expired,
            "closed_at": NOW + timedelta(days=14),
        }
    )
    notes = ticket_notes(request)
    assert [n.event for n in notes] == ["decision-1", "escalated", "expired"]
    assert "gov@example.com" in notes[1].body and "technical_owner" in notes[1].body
    assert "business_owner" not in notes[1].body.split("from")[1].split(";")[0]
    assert closing_status(request) == "rejected"
    assert closing_status(approval_request("s1-3", "s1")) is None


def test_slack_message_names_the_ticket_and_links_jira_issues() -> None:
    """A local ticket is named in the Slack message; a Jira issue of the project is a link."""
    local = approval_request("s1-1", "s1").model_copy(update={"ticket": "THR-1"})
    text = str(approval_blocks(local, request_links("http://threshold", local, None)))
    assert "ticket THR-1" in text and "Jira" not in text
    jira = ("https://acme.atlassian.net/", "GOV")
    issue = approval_request("s1-2", "s1").model_copy(update={"ticket": "GOV-2"})
    text = str(approval_blocks(issue, request_links("http://threshold", issue, jira)))
    assert "<https://acme.atlassian.net/browse/GOV-2|Jira GOV-2>" in text
    assert "ticket GOV-2" not in text


def test_jira_url_without_a_token_is_refused_naming_both_settings() -> None:
    """Configuring a Jira URL but no token fails at start-up with the variables to set."""
    with pytest.raises(ValidationError) as refused:
        JiraSettings(url="https://acme.atlassian.net")
    assert "THRESHOLD_JIRA__API_TOKEN" in str(refused.value)
    assert JiraSettings().url is None  # no Jira at all: the local tracker
