"""Fixtures: Slack and Jira emulators, and the wrappers pointed at them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integrations.jira_tracker import JiraTracker
from integrations.slack import SlackMessenger
from tests.emulators.jira import JiraEmulator
from tests.emulators.slack import SlackEmulator


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    """A running Slack emulator."""
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
def messenger(slack: SlackEmulator) -> SlackMessenger:
    """A SlackMessenger using the emulator's bot token."""
    return SlackMessenger(slack.token, base_url=slack.base_url, timeout=5)


@pytest.fixture(params=["Cloud", "Server"], ids=["cloud-basic-auth", "datacenter-pat"])
def jira_server(request: pytest.FixtureRequest) -> Iterator[JiraEmulator]:
    """A running Jira emulator, once as Cloud and once as Data Center."""
    with JiraEmulator(deployment=request.param) as emulator:
        yield emulator


def tracker_for(server: JiraEmulator, *, secret: str | None = None) -> JiraTracker:
    """Return a tracker using the credentials of the server's deployment (or a wrong one)."""
    if server.cloud:
        return JiraTracker(server.url, secret or server.api_token, user=server.user, timeout=5)
    return JiraTracker(server.url, secret or server.pat, timeout=5)


@pytest.fixture
def tracker(jira_server: JiraEmulator) -> Iterator[JiraTracker]:
    """A JiraTracker with Cloud basic auth or a Data Center personal access token."""
    with tracker_for(jira_server) as tracker:
        yield tracker
