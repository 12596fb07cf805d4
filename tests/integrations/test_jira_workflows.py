"""Closing Jira issues in workflows without the named transition, on Cloud and Data Center."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from jira import JIRA

from integrations.jira_tracker import TrackerPermanentError, TransitionUnavailable
from integrations.jira_transitions import APPROVED_RESOLUTIONS, REJECTED_RESOLUTIONS
from tests.emulators.jira import JiraEmulator
from tests.integrations.conftest import tracker_for

LABEL = "threshold-promotion-support-bot-1"


def emulator(request: pytest.FixtureRequest, workflow: str) -> Iterator[JiraEmulator]:
    """A Jira emulator running `workflow`, once as Cloud and once as Data Center."""
    with JiraEmulator(deployment=request.param, workflow=workflow) as server:
        yield server


@pytest.fixture(params=["Cloud", "Server"], ids=["cloud", "datacenter"])
def classic(request: pytest.FixtureRequest) -> Iterator[JiraEmulator]:
    """Jira's classic workflow: Open / Resolved / Closed, resolution screens, no Won't Do."""
    yield from emulator(request, "classic")


@pytest.fixture(params=["Cloud", "Server"], ids=["cloud", "datacenter"])
def review_only(request: pytest.FixtureRequest) -> Iterator[JiraEmulator]:
    """A workflow that never reaches a done status."""
    yield from emulator(request, "review-only")


def reader_for(server: JiraEmulator) -> JIRA:
    """A plain jira client, to look at issues the way a person's tools would."""
    if server.cloud:
        return JIRA(server=server.url, basic_auth=(server.user, server.api_token))
    return JIRA(server=server.url, token_auth=server.pat)


def test_rejected_ticket_closes_without_wont_do(classic: JiraEmulator) -> None:
    """With no `Won't Do`, a rejected request's issue moves to a done status as Won't Fix."""
    with tracker_for(classic) as tracker:
        key = tracker.ensure_issue(LABEL, "Promote support-bot", "Needs approval")
        plan = tracker.transition(key, "Won't Do", prefer=REJECTED_RESOLUTIONS)
    assert plan is not None and plan.by_category
    reader = reader_for(classic)
    issue = reader.issue(key)
    reader.close()  # type: ignore[no-untyped-call]
    assert issue.fields.status.statusCategory.key == "done"
    assert issue.fields.resolution is not None
    assert issue.fields.resolution.name == "Won't Fix"
    sent = classic.calls(f"/rest/api/2/issue/{key}/transitions", method="POST")[-1].body
    assert sent["fields"] == {"resolution": {"name": "Won't Fix"}}


def test_approved_ticket_is_resolved_as_fixed(classic: JiraEmulator) -> None:
    """With no `Done` transition, an approved request's issue is Resolved with resolution Fixed."""
    with tracker_for(classic) as tracker:
        key = tracker.ensure_issue(LABEL, "Promote support-bot", "Needs approval")
        plan = tracker.transition(key, "Done", prefer=APPROVED_RESOLUTIONS)
        again = tracker.transition(key, "Done", prefer=APPROVED_RESOLUTIONS)
    assert plan is not None and (plan.status, plan.resolution) == ("Resolved", "Fixed")
    assert again is None  # a retry finds it closed and changes nothing
    assert classic.issue(key).status == "Resolved"
    assert len(classic.calls(f"/rest/api/2/issue/{key}/transitions", method="POST")) == 1


def test_the_transition_list_is_read_with_its_screens(classic: JiraEmulator) -> None:
    """The tracker asks for transition fields, where the screen lists its allowed resolutions."""
    with tracker_for(classic) as tracker:
        key = tracker.ensure_issue(LABEL, "Promote support-bot", "Needs approval")
        tracker.transition(key, "Done")
    listed = classic.calls(f"/rest/api/2/issue/{key}/transitions", method="GET")[-1]
    assert listed.query["expand"] == ["transitions.fields"]


def test_the_emulated_screen_refuses_a_transition_without_resolution(classic: JiraEmulator) -> None:
    """Like Jira, a screen with a required resolution refuses a transition that sets none."""
    with tracker_for(classic) as tracker:
        key = tracker.ensure_issue(LABEL, "Promote support-bot", "Needs approval")
    reader = reader_for(classic)
    with pytest.raises(Exception, match="Resolution is required"):
        reader.transition_issue(key, "5")
    reader.close()  # type: ignore[no-untyped-call]
    assert classic.issue(key).status == "Open"


def test_no_way_to_done_says_which_transitions_exist(review_only: JiraEmulator) -> None:
    """A workflow with no done status fails permanently, naming the transitions it has."""
    with tracker_for(review_only) as tracker:
        key = tracker.ensure_issue(LABEL, "Promote support-bot", "Needs approval")
        with pytest.raises(TransitionUnavailable) as raised:
            tracker.transition(key, "Won't Do")
    assert raised.value.available == ["Send to review"]
    assert "'Send to review'" in str(raised.value)
    assert "THRESHOLD_JIRA__REJECTED_TRANSITION" in str(raised.value)
    assert review_only.issue(key).status == "Open"


def test_the_technical_owner_is_found_by_email(classic: JiraEmulator) -> None:
    """The assignee is the person Jira knows by the technical owner's e-mail (Cloud or DC)."""
    ident = classic.add_person("ted.tech@example.com")
    with tracker_for(classic) as tracker:
        found = tracker.find_user("Ted.Tech@example.com")
        assert found == ident
        assert tracker.find_user("nobody@example.com") is None
        key = tracker.ensure_issue(LABEL, "Promote", "Needs approval", assignee=found)
    assert classic.issue(key).assignee == (
        {"accountId": ident} if classic.cloud else {"name": ident}
    )


def test_a_create_screen_without_due_date_still_gets_the_issue(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When the create screen lacks the due date, the issue is created without it and the log says so."""
    screen = ("project", "issuetype", "summary", "description", "labels", "assignee")
    with JiraEmulator(deployment="Server", create_screen=screen) as server:
        with tracker_for(server) as tracker, caplog.at_level("WARNING"):
            key = tracker.ensure_issue(LABEL, "Promote", "Needs approval", due=date(2030, 1, 31))
        assert server.issue(key).duedate is None
        assert len(server.calls("/rest/api/2/issue", method="POST")) == 2
    assert any("duedate" in r.getMessage() for r in caplog.records)


def test_a_refused_required_field_is_still_an_error() -> None:
    """A refusal of anything but the optional fields fails permanently, as before."""
    with JiraEmulator(
        deployment="Server", create_screen=("project", "issuetype", "summary")
    ) as server:
        with tracker_for(server) as tracker, pytest.raises(TrackerPermanentError):
            tracker.ensure_issue(LABEL, "Promote", "Needs approval")
        assert server.store.issues == {}
