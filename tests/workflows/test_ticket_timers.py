"""Escalation and expiry reach the change ticket, on the time-skipping test server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from core.settings import JiraSettings, SlackSettings
from tests.e2e.test_promotion_tour import eventually, register_and_request
from tests.emulators.jira import JiraEmulator
from tests.emulators.slack import SlackEmulator
from tests.harness import (
    BUSINESS,
    REQUESTER,
    SECURITY,
    TECH,
    Stack,
    make_settings,
    running_stack,
)

EVENTS = ["decision-1", "escalated", "expired", "closed"]


@pytest.fixture
def jira() -> Iterator[JiraEmulator]:
    """A Jira Cloud emulator."""
    with JiraEmulator() as emulator:
        yield emulator


async def ticket(stack: Stack, request_id: str) -> dict[str, Any] | None:
    """The request's ticket with its comments, once it has one."""
    key = (await stack.call("GET", f"/requests/{request_id}", REQUESTER)).json().get("ticket")
    if not key:
        return None
    return dict((await stack.call("GET", f"/tickets/{key}", REQUESTER)).json())


async def expire_after_one_approval(env: WorkflowEnvironment, stack: Stack) -> str:
    """One approval, then nothing for a week: the request escalates, then expires."""
    request_id = await register_and_request(stack)
    decided = await stack.call(
        "POST", f"/requests/{request_id}/decisions", BUSINESS, json={"approve": True}
    )
    assert decided.status_code == 200, decided.text
    await env.sleep(timedelta(hours=169))
    return request_id


async def test_local_ticket_records_escalation_and_expiry(
    ts_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The local ticket gets a comment for the decision, the escalation and the expiry, then is rejected."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    async with running_stack(ts_env.client, settings) as stack:
        request_id = await expire_after_one_approval(ts_env, stack)

        async def closed() -> dict[str, Any] | None:
            found = await ticket(stack, request_id)
            return found if found and found["status"] == "rejected" else None

        found = await eventually(closed)
        assert found, await ticket(stack, request_id)
        assert [c["event"] for c in found["comments"]] == EVENTS
        assert "gail.governance@example.com" in found["comments"][1]["body"]
        assert "technical_owner" in found["comments"][2]["body"]


async def test_jira_issue_records_escalation_and_expiry(
    ts_env: WorkflowEnvironment, jira: JiraEmulator, tmp_path: Path
) -> None:
    """The Jira issue gets comments for the decision, escalation and expiry and moves to Won't Do."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    settings.jira = JiraSettings(url=jira.url, user=jira.user, api_token=SecretStr(jira.api_token))
    async with running_stack(ts_env.client, settings) as stack:
        await expire_after_one_approval(ts_env, stack)

        async def closed() -> bool:
            issues = list(jira.store.issues.values())
            return len(issues) == 1 and issues[0].status == "Won't Do"

        assert await eventually(closed)
        bodies = [c.body for c in jira.issue("GOV-1").comments]
        assert len(bodies) == 4
        assert "approved" in bodies[0] and "Escalated" in bodies[1] and "Expired" in bodies[2]
        assert "Outcome: expired" in bodies[3]


async def test_slack_goes_out_without_the_key_when_jira_is_slow_and_gains_it_later(
    ts_env: WorkflowEnvironment, jira: JiraEmulator, tmp_path: Path
) -> None:
    """With Jira down past the 10 s grace, Slack posts without the key, then edits the key in."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    settings.jira = JiraSettings(url=jira.url, user=jira.user, api_token=SecretStr(jira.api_token))
    with SlackEmulator() as slack:
        users = [slack.add_user(email) for email in (BUSINESS, TECH, SECURITY)]
        settings.slack = SlackSettings(
            bot_token=SecretStr(slack.token),
            signing_secret=SecretStr("s3cr3t-signing"),
            api_url=slack.base_url,
        )
        jira.fail_next("/rest/api/2/", status=503, times=5)
        async with running_stack(ts_env.client, settings) as stack:
            request_id = await register_and_request(stack)
            await ts_env.sleep(timedelta(seconds=15))

            def messages() -> list[dict[str, Any]]:
                return [m for u in users for m in slack.messages(slack.dm_channel(u))]

            async def posted() -> bool:
                return len(messages()) == 3

            assert await eventually(posted)
            await ts_env.sleep(timedelta(minutes=2))

            async def keyed() -> bool:
                return all("GOV-1" in str(m["blocks"]) for m in messages())

            assert await eventually(keyed, timeout=20)
            assert len(slack.calls("chat.postMessage")) == 3
            request = (await stack.call("GET", f"/requests/{request_id}", REQUESTER)).json()
            assert request["ticket"] == "GOV-1" and request["status"] == "pending"
