"""SlackMessenger over the official WebClient against the Slack emulator."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from slack_sdk import WebClient

from integrations.slack import (
    SlackMessenger,
    SlackPermanentError,
    SlackRateLimited,
    SlackTransientError,
)
from tests.emulators.slack import SlackEmulator

APPROVE_BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*support-bot* wants production"}},
    {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "value": "req-1",
                "text": {"type": "plain_text", "text": "Approve"},
            },
            {
                "type": "button",
                "action_id": "reject",
                "value": "req-1",
                "text": {"type": "plain_text", "text": "Reject"},
            },
        ],
    },
]
DECIDED_BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Approved by <@U1>"}}
]


def test_approval_message_is_updated_in_place(
    slack: SlackEmulator, messenger: SlackMessenger
) -> None:
    """An approval DM posted with buttons is replaced by the decision, keeping one message."""
    approver = slack.add_user("ana@example.com", name="ana")
    dm = messenger.open_dm(approver)
    channel, ts = messenger.post(dm, "Approval needed: support-bot", APPROVE_BLOCKS)
    messenger.update(channel, ts, "Approved: support-bot", DECIDED_BLOCKS)

    [message] = slack.messages(dm)
    assert (channel, message["ts"]) == (dm, ts)
    assert message["blocks"] == DECIDED_BLOCKS
    assert message["text"] == "Approved: support-bot"


def test_message_timestamps_increase(slack: SlackEmulator, messenger: SlackMessenger) -> None:
    """Each posted message gets a distinct, later ts in Slack's seconds.micros format."""
    channel = slack.add_channel("approvals")
    stamps = [messenger.post("#approvals", f"message {n}", [])[1] for n in range(3)]
    assert stamps == sorted(stamps, key=float) and len(set(stamps)) == 3
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)
    assert [m["ts"] for m in slack.messages(channel)] == stamps


def test_email_lookup_is_cached(slack: SlackEmulator, messenger: SlackMessenger) -> None:
    """Looking up the same approver twice asks Slack once, whatever the e-mail's case."""
    user_id = slack.add_user("ana@example.com")
    assert messenger.lookup_user_id("ana@example.com") == user_id
    assert messenger.lookup_user_id("Ana@Example.com") == user_id
    assert len(slack.calls("users.lookupByEmail")) == 1


def test_user_email_is_cached(slack: SlackEmulator, messenger: SlackMessenger) -> None:
    """The e-mail of a clicking user comes from users.info once; hidden or unknown gives None."""
    user_id = slack.add_user("bo@example.com")
    hidden = slack.add_user(None, name="hidden")
    assert messenger.user_email(user_id) == "bo@example.com"
    assert messenger.user_email(user_id) == "bo@example.com"
    assert messenger.user_email(hidden) is None
    assert messenger.user_email("U404") is None
    assert len(slack.calls("users.info")) == 3


def test_rate_limit_surfaces_retry_after(slack: SlackEmulator, messenger: SlackMessenger) -> None:
    """A 429 from Slack raises SlackRateLimited with Slack's Retry-After, without a client retry."""
    slack.add_channel("approvals")
    slack.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackRateLimited) as raised:
        messenger.post("#approvals", "Approval needed", APPROVE_BLOCKS)
    assert raised.value.retry_after == 7.0
    assert raised.value.retryable
    assert len(slack.calls("chat.postMessage")) == 1
    assert messenger.post("#approvals", "Approval needed", APPROVE_BLOCKS)[1]


def test_server_error_is_transient(slack: SlackEmulator, messenger: SlackMessenger) -> None:
    """A Slack 500 is a transient error, not a rate limit and not permanent."""
    slack.add_channel("approvals")
    slack.fail_next("chat.postMessage", status=500, times=2)
    for _ in range(2):
        with pytest.raises(SlackTransientError) as raised:
            messenger.post("#approvals", "Approval needed", [])
        assert not isinstance(raised.value, SlackRateLimited)
    assert messenger.post("#approvals", "Approval needed", [])[1]


def test_unknown_email_is_permanent(messenger: SlackMessenger) -> None:
    """An approver e-mail with no Slack member is a permanent users_not_found error."""
    with pytest.raises(SlackPermanentError) as raised:
        messenger.lookup_user_id("nobody@example.com")
    assert raised.value.code == "users_not_found"
    assert not raised.value.retryable
    assert "e-mail" in str(raised.value)


def test_unknown_channel_is_permanent(messenger: SlackMessenger) -> None:
    """Posting to a channel that does not exist names the setting to fix."""
    with pytest.raises(SlackPermanentError) as raised:
        messenger.post("#nowhere", "hello", [])
    assert raised.value.code == "channel_not_found"
    assert "THRESHOLD_SLACK__APPROVALS_CHANNEL" in str(raised.value)


@pytest.mark.parametrize(("token", "code"), [("", "not_authed"), ("xoxb-wrong", "invalid_auth")])
def test_bad_token_is_permanent(slack: SlackEmulator, token: str, code: str) -> None:
    """A missing or unknown bot token is refused as Slack refuses it."""
    messenger = SlackMessenger(token, base_url=slack.base_url)
    with pytest.raises(SlackPermanentError) as raised:
        messenger.open_dm(slack.add_user("ana@example.com"))
    assert raised.value.code == code


def test_unreachable_slack_is_transient() -> None:
    """A refused connection is transient: the activity retries later."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    messenger = SlackMessenger("xoxb-any", base_url=f"http://127.0.0.1:{port}/api/", timeout=2)
    with pytest.raises(SlackTransientError):
        messenger.lookup_user_id("ana@example.com")


def test_modal_and_ephemeral(slack: SlackEmulator, messenger: SlackMessenger) -> None:
    """A reject click can open a reason modal and tell the clicker something privately."""
    channel = slack.add_channel("approvals")
    user = slack.add_user("ana@example.com")
    view = {
        "type": "modal",
        "callback_id": "reject_reason",
        "title": {"type": "plain_text", "text": "Reject"},
        "blocks": [],
    }
    view_id = messenger.open_view("trigger-1", view)
    messenger.post_ephemeral(channel, user, "You cannot approve your own request")

    assert slack.views[0]["view"]["id"] == view_id
    assert slack.views[0]["view"]["callback_id"] == "reject_reason"
    assert slack.ephemerals[0]["user"] == user
    assert slack.ephemerals[0]["message"]["text"] == "You cannot approve your own request"
    with pytest.raises(SlackPermanentError) as raised:
        messenger.open_view("", view)
    assert raised.value.code == "invalid_arguments"


def test_emulator_reads_form_bodies_and_token_argument(slack: SlackEmulator) -> None:
    """Form-encoded calls and a token sent as an argument work as on Slack."""
    user = slack.add_user("ana@example.com")
    client = WebClient(base_url=slack.base_url, retry_handlers=[])
    opened = client.api_call("conversations.open", params={"users": user, "token": slack.token})
    assert opened["channel"]["id"].startswith("D")
    assert slack.calls("conversations.open")[0].params["users"] == user
    assert client.api_call("auth.test", params={"token": slack.token})["bot_id"]
