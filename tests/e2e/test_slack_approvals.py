"""Slack approvals end to end: real WebClient against the emulator, signed clicks into the API."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from core.settings import SlackSettings
from integrations.slack_blocks import APPROVE_ACTION, REASON_BLOCK, REASON_INPUT, REJECT_ACTION
from tests.e2e.test_promotion_tour import eventually, register_and_request
from tests.emulators.slack import (
    SlackEmulator,
    block_actions_payload,
    form_body,
    sign_slack_request,
    view_submission_payload,
)
from tests.harness import BUSINESS, REQUESTER, SECURITY, TECH, Stack, make_settings, running_stack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PEOPLE = (BUSINESS, TECH, SECURITY, REQUESTER)


USER_IDS: dict[str, str] = {}


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    """A Slack Web API emulator with the tour's people as members."""
    with SlackEmulator() as emulator:
        for email in PEOPLE:
            USER_IDS[email] = emulator.add_user(email)
        yield emulator


def uid(email: str) -> str:
    """The Slack user id of a member."""
    return USER_IDS[email]


@pytest.fixture
async def stack(
    dev_env: WorkflowEnvironment, slack: SlackEmulator, tmp_path: Path
) -> AsyncIterator[Stack]:
    """A stack whose worker and API talk to the Slack emulator."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    settings.slack = SlackSettings(
        bot_token=SecretStr(slack.token), signing_secret=SecretStr(SECRET), api_url=slack.base_url
    )
    async with running_stack(dev_env.client, settings) as running:
        yield running


async def dm_message(slack: SlackEmulator, email: str) -> dict[str, Any]:
    """The approval message posted to a person's DM (waits until it is there)."""

    async def posted() -> list[dict[str, Any]]:
        return slack.messages(slack.dm_channel(uid(email)))

    messages = await eventually(posted)
    assert messages, f"no Slack message reached {email}"
    first: dict[str, Any] = messages[0]
    return first


async def click(
    stack: Stack, slack: SlackEmulator, email: str, action: str, request_id: str, **extra: Any
) -> Any:
    """A signed button click by `email` on their DM message, as Slack posts it."""
    message = await dm_message(slack, email)
    user = uid(email)
    payload = block_actions_payload(user, action, request_id, message["ts"], slack.dm_channel(user))
    return await post_signed(stack, payload, **extra)


async def post_signed(
    stack: Stack,
    payload: dict[str, Any],
    *,
    timestamp: int | None = None,
    secret: str = SECRET,
    headers: dict[str, str] | None = None,
) -> Any:
    """POST an interaction payload signed like Slack signs it."""
    body = form_body(payload)
    signed = sign_slack_request(secret, body, timestamp)
    return await stack.http.post(
        "/slack/interactions",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **signed, **(headers or {})},
    )


async def decisions(stack: Stack, request_id: str) -> list[dict[str, Any]]:
    """Decisions recorded on a request."""
    return list((await stack.call("GET", f"/requests/{request_id}", REQUESTER)).json()["decisions"])


async def test_promotion_approved_entirely_by_clicks(stack: Stack, slack: SlackEmulator) -> None:
    """Each approver gets a DM with buttons; three clicks promote the system and the messages update."""
    request_id = await register_and_request(stack)
    for email in (BUSINESS, TECH, SECURITY):
        message = await dm_message(slack, email)
        buttons = [b for b in message["blocks"] if b["type"] == "actions"]
        assert buttons and "support-assistant" in message["text"]
        response = await click(stack, slack, email, APPROVE_ACTION, request_id)
        assert response.status_code == 200

    async def production() -> bool:
        shown = await stack.call("GET", "/systems/support-assistant", REQUESTER)
        return bool(shown.json()["state"] == "production")

    assert await eventually(production)
    assert [d["via"] for d in await decisions(stack, request_id)] == ["slack"] * 3

    async def updated_in_place() -> bool:
        final = await dm_message(slack, BUSINESS)
        return "approved" in final["text"] and not any(
            b["type"] == "actions" for b in final["blocks"]
        )

    assert await eventually(updated_in_place)
    assert len(slack.calls("chat.postMessage")) == 3


async def test_forged_old_and_self_clicks_change_nothing(
    stack: Stack, slack: SlackEmulator
) -> None:
    """A forged signature and a stale timestamp get 401; the requester's click is refused with a reason."""
    request_id = await register_and_request(stack)
    forged = await click(
        stack, slack, BUSINESS, APPROVE_ACTION, request_id, secret="not-the-secret"
    )
    assert forged.status_code == 401
    stale = await click(
        stack, slack, BUSINESS, APPROVE_ACTION, request_id, timestamp=int(time.time()) - 6 * 60
    )
    assert stale.status_code == 401
    unsigned = await stack.http.post("/slack/interactions", content=b"payload={}")
    assert unsigned.status_code == 401

    stack.token(REQUESTER, "approver")
    message = await dm_message(slack, BUSINESS)
    rita = uid(REQUESTER)
    payload = block_actions_payload(
        rita, APPROVE_ACTION, request_id, message["ts"], slack.dm_channel(rita)
    )
    own = await post_signed(stack, payload)
    assert own.status_code == 200

    async def told() -> bool:
        return any("four-eyes" in e["message"].get("text", "") for e in slack.ephemerals)

    assert await eventually(told)
    assert await decisions(stack, request_id) == []


async def test_double_click_and_slack_retry_decide_once(stack: Stack, slack: SlackEmulator) -> None:
    """Slack's retry of a click and a second click by the same person record one decision."""
    request_id = await register_and_request(stack)
    message = await dm_message(slack, BUSINESS)
    dana = uid(BUSINESS)
    payload = block_actions_payload(
        dana, APPROVE_ACTION, request_id, message["ts"], slack.dm_channel(dana)
    )
    assert (await post_signed(stack, payload)).status_code == 200
    retried = await post_signed(stack, payload, headers={"X-Slack-Retry-Num": "1"})
    assert retried.status_code == 200
    again = await click(stack, slack, BUSINESS, APPROVE_ACTION, request_id)
    assert again.status_code == 200
    assert len(await decisions(stack, request_id)) == 1

    async def told() -> bool:
        return any("already decided" in e["message"].get("text", "") for e in slack.ephemerals)

    assert await eventually(told)


async def test_reject_asks_for_a_reason_in_a_modal(stack: Stack, slack: SlackEmulator) -> None:
    """Reject opens a modal; submitting a reason rejects the request and the system stays in pilot."""
    request_id = await register_and_request(stack)
    assert (await click(stack, slack, SECURITY, REJECT_ACTION, request_id)).status_code == 200
    assert await decisions(stack, request_id) == []
    assert len(slack.views) == 1
    view = slack.views[0]["view"]
    sam = uid(SECURITY)
    empty = view_submission_payload(
        sam, view["callback_id"], view["private_metadata"], {REASON_BLOCK: {REASON_INPUT: ""}}
    )
    refused = await post_signed(stack, empty)
    assert refused.json()["response_action"] == "errors"
    submitted = view_submission_payload(
        sam,
        view["callback_id"],
        view["private_metadata"],
        {REASON_BLOCK: {REASON_INPUT: "no DPIA on file"}},
    )
    assert (await post_signed(stack, submitted)).status_code == 200
    recorded = await decisions(stack, request_id)
    assert recorded[0]["approve"] is False and recorded[0]["comment"] == "no DPIA on file"

    async def back_in_pilot() -> bool:
        shown = await stack.call("GET", "/systems/support-assistant", REQUESTER)
        return bool(shown.json()["state"] == "pilot")

    assert await eventually(back_in_pilot)


async def test_rate_limit_storm_still_posts_each_message_once(
    stack: Stack, slack: SlackEmulator
) -> None:
    """Three 429s in a row delay delivery; every approver still gets exactly one message, later updated."""
    slack.fail_next("chat.postMessage", status=429, retry_after=1, times=3)
    request_id = await register_and_request(stack)
    for email in (BUSINESS, TECH, SECURITY):
        await dm_message(slack, email)
    await click(stack, slack, TECH, APPROVE_ACTION, request_id)

    async def updated() -> bool:
        text = (await dm_message(slack, BUSINESS))["text"]
        blocks = str((await dm_message(slack, BUSINESS))["blocks"])
        return "pending" in text and TECH in blocks

    assert await eventually(updated, timeout=20)
    assert len(slack.calls("chat.postMessage")) == 3 + 3
    for email in (BUSINESS, TECH, SECURITY):
        assert len(slack.messages(slack.dm_channel(uid(email)))) == 1


async def test_one_rate_limited_approver_does_not_delay_the_others(
    stack: Stack, slack: SlackEmulator
) -> None:
    """3x429 then 2x500 for one approver: the others' messages land while that one is still refused."""
    slow = slack.dm_channel(uid(BUSINESS))  # sorts first among the approvers
    slack.fail_next("chat.postMessage", status=429, retry_after=1, times=3, channel=slow)
    slack.fail_next("chat.postMessage", status=500, times=2, channel=slow)
    await register_and_request(stack)
    for email in (TECH, SECURITY):
        await dm_message(slack, email)

    async def slow_posted() -> list[dict[str, Any]]:
        return slack.messages(slow)

    assert await eventually(slow_posted, timeout=40)
    order = slack.attempts("chat.postMessage")
    slow_calls = [i for i, (channel, _) in enumerate(order) if channel == slow]
    assert [order[i][1] for i in slow_calls] == [429, 429, 429, 500, 500, 200]
    healthy = [i for i, (channel, status) in enumerate(order) if channel != slow and status == 200]
    assert len(healthy) == 2 and max(healthy) < slow_calls[1]  # before the slow one's first retry
    for email in (BUSINESS, TECH, SECURITY):
        assert len(slack.messages(slack.dm_channel(uid(email)))) == 1
