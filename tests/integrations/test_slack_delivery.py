"""Slack approval messages per recipient: one recipient's rate limits do not hold up the others."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.slack import SlackActivities
from db.engine import init_db, make_engine
from domain.approvals import ApprovalRequest, RequestKind
from domain.contracts import SlackSyncInput, SlackSyncResult
from domain.policy import Role
from integrations.slack import SlackMessenger
from integrations.slack_blocks import APPROVE_ACTION
from tests.emulators.slack import SlackEmulator

OPENED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SLOW = "aaron.slow@example.com"  # sorts first: on the old loop it held up everyone after it
HEALTHY = ("bea.business@example.com", "sam.security@example.com")
REQUESTER = "rita.requester@example.com"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database."""
    engine = make_engine(f"sqlite:///{tmp_path}/threshold.db")
    init_db(engine)
    yield engine
    engine.dispose()


def request(kind: RequestKind = RequestKind.promotion) -> ApprovalRequest:
    """A pending request three people may decide."""
    return ApprovalRequest(
        id="support-bot-1",
        system_id="support-bot",
        kind=kind,
        summary="Promote support-bot to production",
        requester=REQUESTER,
        required_roles=[Role.technical_owner, Role.business_owner, Role.security],
        eligible={
            Role.technical_owner: [SLOW],
            Role.business_owner: [HEALTHY[0]],
            Role.security: [HEALTHY[1]],
        },
        opened_at=OPENED,
        escalate_at=OPENED + timedelta(days=3),
        expires_at=OPENED + timedelta(days=14),
    )


def attempt(
    slack: SlackEmulator, engine: Engine, job: SlackSyncInput
) -> SlackSyncResult | ApplicationError:
    """One attempt of sync_slack_messages, as Temporal would run it (the error it raised)."""
    messenger = SlackMessenger(slack.token, base_url=slack.base_url, timeout=5)
    activities = SlackActivities(messenger, engine, channel=None, api_url="http://threshold.test")
    try:
        result: SlackSyncResult = ActivityEnvironment().run(activities.sync_slack_messages, job)
    except ApplicationError as error:
        return error
    return result


def test_a_rate_limited_recipient_does_not_delay_the_others(
    slack: SlackEmulator, engine: Engine
) -> None:
    """With 3x429 and 2x500 for one approver, the others get their message on the first attempt."""
    users = {email: slack.add_user(email) for email in (SLOW, *HEALTHY)}
    slow_dm = slack.dm_channel(users[SLOW])
    slack.fail_next("chat.postMessage", status=429, retry_after=7, times=3, channel=slow_dm)
    slack.fail_next("chat.postMessage", status=500, times=2, channel=slow_dm)
    job = SlackSyncInput(request=request(), version=1)

    first = attempt(slack, engine, job)
    assert isinstance(first, ApplicationError) and first.type == "SlackRateLimited"
    assert first.next_retry_delay == timedelta(seconds=7)
    for email in HEALTHY:  # delivered while the slow one is still refused
        assert len(slack.messages(slack.dm_channel(users[email]))) == 1
    assert slack.messages(slow_dm) == []

    outcomes = [attempt(slack, engine, job) for _ in range(5)]
    assert isinstance(outcomes[-1], SlackSyncResult) and outcomes[-1].posted == 1
    assert all(isinstance(o, ApplicationError) for o in outcomes[:-1])
    order = slack.attempts("chat.postMessage")
    slow_answers = [status for channel, status in order if channel == slow_dm]
    assert slow_answers == [429, 429, 429, 500, 500, 200]
    healthy_done = [i for i, (channel, status) in enumerate(order) if channel != slow_dm]
    second_refusal = [i for i, (channel, _) in enumerate(order) if channel == slow_dm][1]
    assert len(healthy_done) == 2 and max(healthy_done) < second_refusal
    for email in (SLOW, *HEALTHY):  # each recipient exactly once
        assert len(slack.messages(slack.dm_channel(users[email]))) == 1


def blocks_sent(slack: SlackEmulator, user: str) -> list[dict[str, Any]]:
    """The blocks of the one message in a user's DM."""
    [message] = slack.messages(slack.dm_channel(user))
    blocks: list[dict[str, Any]] = message["blocks"]
    return blocks


def test_requester_is_a_mention_and_facts_are_fields(slack: SlackEmulator, engine: Engine) -> None:
    """A requester Slack knows by e-mail shows as <@U…>, in a section of fields."""
    users = {email: slack.add_user(email) for email in (SLOW, *HEALTHY)}
    rita = slack.add_user(REQUESTER)
    assert isinstance(
        attempt(slack, engine, SlackSyncInput(request=request(), version=1)), SlackSyncResult
    )
    fields = next(b["fields"] for b in blocks_sent(slack, users[SLOW]) if "fields" in b)
    texts = [f["text"] for f in fields]
    assert f"*Requested by:*\n<@{rita}>" in texts
    assert "*System:*\n`support-bot`" in texts


def test_an_unknown_requester_stays_an_email(slack: SlackEmulator, engine: Engine) -> None:
    """A requester with no Slack account is shown by e-mail, and delivery still succeeds."""
    users = {email: slack.add_user(email) for email in (SLOW, *HEALTHY)}
    assert isinstance(
        attempt(slack, engine, SlackSyncInput(request=request(), version=1)), SlackSyncResult
    )
    fields = next(b["fields"] for b in blocks_sent(slack, users[SLOW]) if "fields" in b)
    assert f"*Requested by:*\n{REQUESTER}" in [f["text"] for f in fields]


def approve_button(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """The Approve button of a message."""
    actions = next(b for b in blocks if b["type"] == "actions")
    button: dict[str, Any] = next(
        e for e in actions["elements"] if e["action_id"] == APPROVE_ACTION
    )
    return button


@pytest.mark.parametrize("kind", [RequestKind.promotion, RequestKind.revalidation])
def test_approve_asks_for_confirmation_only_on_promotions(
    slack: SlackEmulator, engine: Engine, kind: RequestKind
) -> None:
    """Approving a production promotion opens a confirm dialog first; a revalidation does not."""
    users = {email: slack.add_user(email) for email in (SLOW, *HEALTHY)}
    attempt(slack, engine, SlackSyncInput(request=request(kind), version=1))
    button = approve_button(blocks_sent(slack, users[HEALTHY[0]]))
    if kind is RequestKind.promotion:
        confirm = button["confirm"]
        assert confirm["confirm"]["text"] == "Approve" and confirm["deny"]["text"] == "Cancel"
        assert "production" in confirm["title"]["text"]
        assert len(confirm["title"]["text"]) <= 100 and len(confirm["text"]["text"]) <= 300
    else:
        assert "confirm" not in button
