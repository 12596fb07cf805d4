"""Jira change requests end to end: the real `jira.JIRA` client against the Jira emulator."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli import client as cli_client
from cli.main import app as cli_app
from core.settings import JiraSettings, SlackSettings
from integrations.ticket_text import ticket_label
from tests.e2e.test_promotion_tour import eventually, register_and_request
from tests.e2e.test_scope_changes import cloudevent, in_production, send
from tests.emulators.jira import JiraCall, JiraEmulator
from tests.emulators.slack import SlackEmulator
from tests.harness import BUSINESS, REQUESTER, SECURITY, TECH, Stack, make_settings, running_stack

pytestmark = pytest.mark.devserver
APPROVERS = (BUSINESS, TECH, SECURITY)


def jira_settings(jira: JiraEmulator) -> JiraSettings:
    """Cloud: e-mail + API token (basic auth); Data Center: a personal access token alone."""
    if jira.cloud:
        return JiraSettings(url=jira.url, user=jira.user, api_token=SecretStr(jira.api_token))
    return JiraSettings(url=jira.url, api_token=SecretStr(jira.pat))


@pytest.fixture(params=["Cloud", "Server"], ids=["cloud-basic-auth", "datacenter-pat"])
def jira(request: pytest.FixtureRequest) -> Iterator[JiraEmulator]:
    """A Jira emulator, once as Cloud and once as Data Center."""
    with JiraEmulator(deployment=request.param) as emulator:
        yield emulator


@pytest.fixture
async def stack(
    dev_env: WorkflowEnvironment, jira: JiraEmulator, database_url: str, tmp_path: Path
) -> AsyncIterator[Stack]:
    """A stack whose worker opens change requests in the Jira emulator."""
    settings = make_settings(database_url, tmp_path)
    settings.jira = jira_settings(jira)
    async with running_stack(dev_env.client, settings) as running:
        yield running


async def request_json(stack: Stack, request_id: str) -> dict[str, Any]:
    """The live request as the API shows it."""
    return dict((await stack.call("GET", f"/requests/{request_id}", REQUESTER)).json())


async def ticket_of(stack: Stack, request_id: str, timeout: float = 10.0) -> str:
    """Wait until the request carries its ticket key, and return it."""

    async def key() -> str | None:
        return (await request_json(stack, request_id)).get("ticket")

    found = await eventually(key, timeout=timeout)
    assert found, f"request {request_id} never got a ticket"
    return str(found)


async def approve_all(stack: Stack, request_id: str) -> None:
    """The three approvers approve the request."""
    for who in APPROVERS:
        decided = await stack.call(
            "POST",
            f"/requests/{request_id}/decisions",
            who,
            json={"approve": True, "comment": "ok"},
        )
        assert decided.status_code == 200, decided.text


async def issue_reaches(jira: JiraEmulator, key: str, status: str, comments: int) -> bool:
    """Wait until the issue is in `status` with `comments` comments."""

    async def there() -> bool:
        issue = jira.issue(key)
        return issue.status == status and len(issue.comments) == comments

    return bool(await eventually(there, timeout=15))


def authorization(call: JiraCall) -> str | None:
    """The Authorization header a call carried (header names are case-insensitive)."""
    return next((v for k, v in call.headers.items() if k.lower() == "authorization"), None)


def expected_auth(jira: JiraEmulator) -> str:
    """The Authorization header the configured credentials must produce."""
    if jira.cloud:
        return "Basic " + base64.b64encode(f"{jira.user}:{jira.api_token}".encode()).decode()
    return f"Bearer {jira.pat}"


async def test_promotion_opens_one_issue_and_approval_moves_it_to_done(
    stack: Stack, jira: JiraEmulator
) -> None:
    """A promotion opens one labelled issue naming system, ask and approvers; approvals comment and close it Done."""
    request_id = await register_and_request(stack)
    key = await ticket_of(stack, request_id)
    assert key == "GOV-1"
    issue = jira.issue(key)
    prefix = stack.settings.temporal.workflow_id_prefix
    assert set(issue.labels) == {
        ticket_label(request_id, prefix),
        "threshold",
        "threshold-promotion",
    }
    assert "support-assistant" in issue.summary and "production" in issue.summary
    assert issue.issue_type == "Task" and issue.project.key == "GOV"
    for text in (request_id, "promotion", "business_owner", "security", *APPROVERS, REQUESTER):
        assert text in str(issue.description), text
    shown = await stack.call("GET", "/systems/support-assistant", REQUESTER)
    assert shown.json()["pending_request"]["ticket"] == key

    await approve_all(stack, request_id)
    assert await issue_reaches(jira, key, "Done", comments=4)
    *decisions, outcome = jira.issue(key).comments
    for who, comment in zip(APPROVERS, decisions, strict=True):
        assert who in comment.body and "approved" in comment.body
    assert "Outcome: approved" in outcome.body
    assert (
        len(jira.calls("/rest/api/2/issue", method="POST")) == 1 + 4 + 1
    )  # create, comments (3 decisions, the outcome), move
    assert {authorization(c) for c in jira.calls()} == {expected_auth(jira)}

    async def listed_done() -> dict[str, Any] | None:
        page: dict[str, Any] = (await stack.call("GET", "/tickets", REQUESTER)).json()
        return page if page["items"] and page["items"][0]["status"] == "done" else None

    listed = await eventually(listed_done)  # recorded just after Jira moved the issue
    assert listed, (await stack.call("GET", "/tickets", REQUESTER)).json()
    assert [(t["key"], t["tracker"]) for t in listed["items"]] == [(key, "jira")]
    assert listed["items"][0]["url"] == f"{jira.url}/browse/{key}"
    assert (await request_json(stack, request_id))["ticket"] == key


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("jira", ["Cloud"], indirect=True)
async def test_rejection_comments_the_reason_and_moves_the_issue_to_rejected(
    stack: Stack, jira: JiraEmulator
) -> None:
    """A rejection adds a comment with its reason and moves the issue to the rejected status."""
    request_id = await register_and_request(stack)
    key = await ticket_of(stack, request_id)
    rejected = await stack.call(
        "POST",
        f"/requests/{request_id}/decisions",
        SECURITY,
        json={"approve": False, "comment": "no DPIA on file"},
    )
    assert rejected.status_code == 200, rejected.text
    assert await issue_reaches(jira, key, "Won't Do", comments=2)
    assert "rejected" in jira.issue(key).comments[0].body
    assert "Outcome: rejected" in jira.issue(key).comments[1].body
    assert "no DPIA on file" in jira.issue(key).comments[0].body

    async def recorded() -> dict[str, Any] | None:
        ticket: dict[str, Any] = (await stack.call("GET", f"/tickets/{key}", REQUESTER)).json()
        return ticket if ticket["status"] == "rejected" else None

    ticket = await eventually(recorded)  # recorded just after Jira moved the issue
    assert ticket, f"ticket {key} never recorded as rejected"
    assert [c["event"] for c in ticket["comments"]] == ["decision-1", "outcome", "closed"]


@pytest.mark.parametrize("jira", ["Cloud"], indirect=True)
async def test_jira_outage_delays_the_ticket_and_never_duplicates_it(
    stack: Stack, jira: JiraEmulator
) -> None:
    """Jira answering 500 for a while delays the issue; decisions still count and all land on one issue."""
    jira.fail_next("/rest/api/2/", status=500, times=2)
    request_id = await register_and_request(stack)
    decided = await stack.call(
        "POST", f"/requests/{request_id}/decisions", BUSINESS, json={"approve": True}
    )
    assert decided.status_code == 200, decided.text
    key = await ticket_of(stack, request_id, timeout=20)
    assert await issue_reaches(jira, key, "To Do", comments=1)
    assert list(jira.store.issues) == [key]
    failed = [c for c in jira.calls() if c.path == "/rest/api/2/serverInfo"]
    assert len(failed) >= 3  # two refused connections, then the one that worked


@pytest.mark.parametrize("jira", ["Server"], indirect=True)
async def test_lost_replies_are_retried_without_duplicate_issue_or_comment(
    stack: Stack, jira: JiraEmulator
) -> None:
    """When Jira applies a create or a comment but the reply is lost, the retry finds it and adds nothing."""
    jira.lose_next_response("POST", "/rest/api/2/issue", times=1)
    request_id = await register_and_request(stack)
    key = await ticket_of(stack, request_id, timeout=20)
    assert list(jira.store.issues) == [key]
    assert len(jira.calls("/rest/api/2/issue", method="POST")) == 1

    jira.lose_next_response("POST", f"/rest/api/2/issue/{key}/comment", times=1)
    await approve_all(stack, request_id)
    assert await issue_reaches(jira, key, "Done", comments=4)
    await asyncio.sleep(0.5)
    assert len(jira.issue(key).comments) == 4


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("jira", ["Cloud"], indirect=True)
async def test_wrong_credentials_are_reported_and_decisions_still_count(
    dev_env: WorkflowEnvironment, jira: JiraEmulator, database_url: str, tmp_path: Path
) -> None:
    """A rejected Jira token fails the ticket at once, audited once with a fix-it message; decisions still count."""
    settings = make_settings(database_url, tmp_path)
    settings.jira = JiraSettings(url=jira.url, user=jira.user, api_token=SecretStr("wrong"))
    async with running_stack(dev_env.client, settings) as stack:
        request_id = await register_and_request(stack)

        async def reported() -> list[dict[str, Any]]:
            events = await stack.call("GET", "/audit/events?system=support-assistant", REQUESTER)
            return [e for e in events.json() if e["action"] == "notification_failed"]

        failures = await eventually(reported)
        assert failures and "THRESHOLD_JIRA__API_TOKEN" in str(failures[0]["detail"])
        # One decision at a time: changes that land while a sync is in flight share the next
        # sync, so only a decision made after the previous try is sure to cause a try of its own.
        for tries, who in enumerate(APPROVERS, start=2):
            decided = await stack.call(
                "POST", f"/requests/{request_id}/decisions", who, json={"approve": True}
            )
            assert decided.status_code == 200, decided.text

            async def tried_again(tries: int = tries) -> bool:
                return len(jira.calls("/rest/api/2/serverInfo")) >= tries  # opened + decisions

            assert await eventually(tried_again)
        assert (await request_json(stack, request_id))["status"] == "approved"
        await asyncio.sleep(0.5)
        assert len(await reported()) == 1  # the same problem is audited once per request
        assert jira.store.issues == {}


async def test_slack_message_shows_the_jira_key(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """With Slack and Jira both configured, each approver's Slack message names the Jira issue."""
    with SlackEmulator() as slack, JiraEmulator() as jira:
        users = [slack.add_user(email) for email in APPROVERS]
        settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
        settings.jira = jira_settings(jira)
        settings.slack = SlackSettings(
            bot_token=SecretStr(slack.token),
            signing_secret=SecretStr("s3cr3t-signing"),
            api_url=slack.base_url,
        )
        async with running_stack(dev_env.client, settings) as stack:
            request_id = await register_and_request(stack)
            key = await ticket_of(stack, request_id)

            async def shown_everywhere() -> bool:
                posted = [m for u in users for m in slack.messages(slack.dm_channel(u))]
                link = f"<{jira.url}/browse/{key}|Jira {key}>"
                return len(posted) == 3 and all(link in str(m["blocks"]) for m in posted)

            assert await eventually(shown_everywhere)
            assert len(slack.calls("chat.postMessage")) == 3


class LoopTransport(httpx.BaseTransport):
    """Lets the synchronous CLI, run in a thread, call the in-process API on the test's loop."""

    def __init__(self, http: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self._http, self._loop = http, loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request through the stack's ASGI client and hand back the full response."""

        async def send() -> httpx.Response:
            url = request.url.copy_with(scheme="http", host="threshold", port=None)
            sent = await self._http.request(
                request.method, url, headers=request.headers, content=request.read()
            )
            return httpx.Response(sent.status_code, headers=sent.headers, content=sent.content)

        return asyncio.run_coroutine_threadsafe(send(), self._loop).result(timeout=30)


async def threshold(stack: Stack, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    """Run the `threshold` CLI as the admin against the stack; returns click's Result."""
    transport = LoopTransport(stack.http, asyncio.get_running_loop())
    monkeypatch.setattr(cli_client, "TRANSPORT", transport)
    token = stack.tokens["admin@threshold.local"]
    return await asyncio.to_thread(CliRunner().invoke, cli_app, ["--token", token, *args])


async def test_without_jira_tickets_go_to_the_local_tracker(
    dev_env: WorkflowEnvironment,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no Jira configured, a promotion gets THR-1 in the local tracker, listed by `threshold tickets`."""
    settings = make_settings(database_url, tmp_path)
    assert settings.jira.url is None
    async with running_stack(dev_env.client, settings) as stack:
        first = await register_and_request(stack)
        assert await ticket_of(stack, first) == "THR-1"

        async def projected() -> bool:
            page = (await stack.call("GET", "/requests?system=support-assistant", REQUESTER)).json()
            return bool(page["items"][0].get("ticket") == "THR-1")

        assert await eventually(projected)  # the projection (list, dashboard) has the key too
        await approve_all(stack, first)

        async def done() -> bool:
            ticket = (await stack.call("GET", "/tickets/THR-1", REQUESTER)).json()
            return bool(ticket["status"] == "done")

        assert await eventually(done)
        ticket = (await stack.call("GET", "/tickets/THR-1", REQUESTER)).json()
        assert ticket["tracker"] == "local" and ticket["request_id"] == first
        assert [c["event"] for c in ticket["comments"]] == [
            "decision-1",
            "decision-2",
            "decision-3",
            "closed",
        ]
        assert all(who in ticket["description"] for who in APPROVERS)

        listed = await threshold(stack, monkeypatch, "tickets", "--json")
        assert listed.exit_code == 0, listed.output
        assert "THR-1" in [t["key"] for t in json.loads(listed.stdout)["items"]]
        table = await threshold(stack, monkeypatch, "tickets")
        assert table.exit_code == 0, table.output
        assert "THR-1" in table.stdout and "done" in table.stdout
        shown = await threshold(stack, monkeypatch, "requests", "show", first)
        assert "THR-1" in shown.stdout


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("jira", ["Cloud"], indirect=True)
async def test_revalidation_gets_an_issue_and_a_folded_one_is_closed(
    stack: Stack, jira: JiraEmulator
) -> None:
    """A material change opens an issue with the change; when a second change folds it, it is withdrawn."""
    await in_production(stack)
    first = (await send(stack, cloudevent({"add_write": ["crm.accounts"]}))).json()
    first_key = await ticket_of(stack, first["request_id"])
    assert first_key == "GOV-2"  # GOV-1 is the promotion
    assert "new write access: crm.accounts" in str(jira.issue(first_key).description)
    assert "revalidation" in str(jira.issue(first_key).description)

    second = (await send(stack, cloudevent({"data_classification": "regulated"}))).json()
    assert second["request_id"] != first["request_id"]
    second_key = await ticket_of(stack, second["request_id"])
    assert second_key == "GOV-3"
    assert await issue_reaches(jira, first_key, "Won't Do", comments=2)
    assert "Withdrawn" in jira.issue(first_key).comments[0].body
    description = str(jira.issue(second_key).description)
    assert "crm.accounts" in description and "regulated" in description and "privacy" in description
    assert jira.issue(second_key).status == "To Do"
    assert jira.issue("GOV-1").status == "Done"
