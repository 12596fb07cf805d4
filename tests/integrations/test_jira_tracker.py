"""JiraTracker over the official jira client against the Jira emulator (Cloud and Data Center)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import date

import pytest
from jira import JIRA, JIRAError

from integrations.jira_tracker import JiraTracker, TrackerPermanentError, TrackerTransientError
from tests.emulators.jira import JiraEmulator
from tests.integrations.conftest import tracker_for

LABEL = "threshold-promotion-support-bot-1"


@pytest.fixture
def reader(jira_server: JiraEmulator) -> Iterator[JIRA]:
    """A plain jira client, to look at issues the way a person's tools would."""
    if jira_server.cloud:
        client = JIRA(server=jira_server.url, basic_auth=(jira_server.user, jira_server.api_token))
    else:
        client = JIRA(server=jira_server.url, token_auth=jira_server.pat)
    yield client
    client.close()  # type: ignore[no-untyped-call]


def test_ensure_issue_never_duplicates(jira_server: JiraEmulator, tracker: JiraTracker) -> None:
    """Ensuring the same change request twice creates one issue and returns its key both times."""
    first = tracker.ensure_issue(LABEL, "Promote support-bot", "Needs CISO approval")
    second = tracker.ensure_issue(LABEL, "Promote support-bot", "Needs CISO approval")
    assert first == second == "GOV-1"
    assert len(jira_server.calls("/rest/api/2/issue", method="POST")) == 1
    assert tracker.find_by_label(LABEL) == "GOV-1"
    assert tracker.find_by_label("threshold-other") is None


def test_created_issue_has_fields(
    jira_server: JiraEmulator, tracker: JiraTracker, reader: JIRA
) -> None:
    """Summary, description, labels, assignee and due date land on the issue."""
    ana = jira_server.add_person("ana@example.com")
    key = tracker.ensure_issue(
        LABEL,
        "Recertify support-bot",
        "Overdue",
        assignee=ana,
        due=date(2030, 1, 31),
        labels=["threshold"],
    )
    issue = reader.issue(key)
    assert issue.fields.summary == "Recertify support-bot"
    assert issue.fields.description == "Overdue"
    assert issue.fields.labels == [LABEL, "threshold"]
    assert issue.fields.duedate == "2030-01-31"
    assert issue.fields.status.name == "To Do"
    sent = jira_server.calls("/rest/api/2/issue", method="POST")[0].body["fields"]["assignee"]
    assert sent == ({"accountId": ana} if jira_server.cloud else {"name": "ana"})
    assert issue.fields.assignee is not None


def test_a_watcher_is_found_by_email_once_and_an_unknown_person_is_refused(
    jira_server: JiraEmulator, tracker: JiraTracker, reader: JIRA
) -> None:
    """The business owner watches the issue (Cloud accountId or DC username), added once."""
    owner = jira_server.add_person("bo@example.com")
    key = tracker.ensure_issue(LABEL, "Recertify support-bot", "Overdue")
    tracker.add_watcher(key, "bo@example.com")
    tracker.add_watcher(key, "bo@example.com")
    watchers = reader.watchers(key)
    assert watchers.watchCount == 1
    assert [w.accountId if jira_server.cloud else w.name for w in watchers.watchers] == [owner]
    with pytest.raises(TrackerPermanentError, match="watcher"):
        tracker.add_watcher(key, "nobody@example.com")


def test_comment_then_done_is_visible(tracker: JiraTracker, reader: JIRA) -> None:
    """A decision comment and the move to Done show on the issue."""
    key = tracker.ensure_issue(LABEL, "Promote support-bot", "Needs approval")
    tracker.comment(key, "Approved by ana@example.com (CISO)")
    tracker.transition(key, "Done")
    issue = reader.issue(key)
    assert issue.fields.status.name == "Done"
    assert issue.fields.resolution is not None
    assert issue.fields.resolution.name == "Done"
    assert [c.body for c in issue.fields.comment.comments] == ["Approved by ana@example.com (CISO)"]


def test_transition_to_current_status_is_a_no_op(
    jira_server: JiraEmulator, tracker: JiraTracker
) -> None:
    """Repeating a transition (an activity retry) changes nothing and does not fail."""
    key = tracker.ensure_issue(LABEL, "Promote support-bot", "Needs approval")
    tracker.transition(key, "Won't Do")
    tracker.transition(key, "won't do")
    assert jira_server.issue(key).status == "Won't Do"
    assert len(jira_server.calls(f"/rest/api/2/issue/{key}/transitions", method="POST")) == 1


def test_an_unknown_transition_name_falls_back_to_a_done_status(tracker: JiraTracker) -> None:
    """A transition name the workflow lacks still closes the issue, in a done-category status."""
    key = tracker.ensure_issue(LABEL, "Promote support-bot", "Needs approval")
    plan = tracker.transition(key, "Closed")
    assert plan is not None and plan.by_category and plan.status == "Done"


def test_outage_is_transient(jira_server: JiraEmulator, tracker: JiraTracker) -> None:
    """A 503 from Jira is a transient error, and the client does not retry it on its own."""
    jira_server.fail_next("/rest/api/2/search", status=503)
    with pytest.raises(TrackerTransientError) as raised:
        tracker.ensure_issue(LABEL, "Promote support-bot", "Needs approval")
    assert raised.value.retryable
    assert len(jira_server.calls("/rest/api/2/search")) == 1
    assert tracker.ensure_issue(LABEL, "Promote support-bot", "Needs approval") == "GOV-1"


def test_wrong_credentials_are_permanent(jira_server: JiraEmulator) -> None:
    """A wrong API token or PAT fails permanently with the settings to fix."""
    with (
        tracker_for(jira_server, secret="wrong") as tracker,
        pytest.raises(TrackerPermanentError) as raised,
    ):
        tracker.find_by_label(LABEL)
    assert "HTTP 401" in str(raised.value)
    assert "THRESHOLD_JIRA__API_TOKEN" in str(raised.value)
    assert "wrong" not in str(raised.value)


def test_unknown_project_is_permanent(jira_server: JiraEmulator) -> None:
    """A project key that does not exist fails permanently and names the setting."""
    tracker = JiraTracker(jira_server.url, jira_server.pat, project="NOPE")
    with tracker, pytest.raises(TrackerPermanentError) as raised:
        tracker.ensure_issue(LABEL, "Promote support-bot", "Needs approval")
    assert "'NOPE' does not exist" in str(raised.value)
    assert "THRESHOLD_JIRA__PROJECT" in str(raised.value)
    assert not jira_server.calls("/rest/api/2/issue", method="POST")


def test_unreachable_jira_is_transient() -> None:
    """A refused connection is transient: the activity retries later."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        JiraTracker(f"http://127.0.0.1:{port}", "pat", timeout=2) as tracker,
        pytest.raises(TrackerTransientError),
    ):
        tracker.find_by_label(LABEL)


def test_client_wire_behaviour(jira_server: JiraEmulator, tracker: JiraTracker) -> None:
    """The client reads serverInfo and the field list once, then searches where the deployment wants."""
    tracker.ensure_issue(LABEL, "Promote support-bot", "Needs approval")
    tracker.find_by_label(LABEL)
    paths = [c.path for c in jira_server.calls()]
    assert paths[0] == "/rest/api/2/serverInfo"
    assert paths.count("/rest/api/2/field") == 1
    search = "/rest/api/2/search/jql" if jira_server.cloud else "/rest/api/2/search"
    assert paths.count(search) == 2


def test_cloud_refuses_removed_search_endpoint() -> None:
    """Without serverInfo the client takes Cloud for Data Center and hits the removed search."""
    with JiraEmulator(deployment="Cloud") as cloud:
        client = JIRA(
            server=cloud.url,
            basic_auth=(cloud.user, cloud.api_token),
            get_server_info=False,
            max_retries=0,
        )
        with pytest.raises(JIRAError) as raised:
            client.search_issues(f'labels = "{LABEL}"')
        client.close()  # type: ignore[no-untyped-call]
    assert raised.value.status_code == 410
    assert [c.path for c in cloud.calls()][-1] == "/rest/api/2/search"
