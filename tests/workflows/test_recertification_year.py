"""A high-risk system lives a simulated year on the time-skipping server (issue 5)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from core.settings import JiraSettings, Settings, SlackSettings
from tests.e2e.test_promotion_tour import eventually, manifest
from tests.emulators.jira import JiraEmulator
from tests.emulators.slack import SlackEmulator
from tests.harness import BUSINESS, REQUESTER, SECURITY, TECH, Stack, make_settings, running_stack

SYSTEM = "support-assistant"
DAY = timedelta(days=1)
SLACK = timedelta(minutes=5)  # how late a timer's effect may be stamped after its deadline


@pytest.fixture
def jira() -> Iterator[JiraEmulator]:
    """A Jira Cloud emulator."""
    with JiraEmulator() as emulator:
        yield emulator


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    """A Slack emulator."""
    with SlackEmulator() as emulator:
        yield emulator


def texts(slack: SlackEmulator, user: str) -> list[str]:
    """The text of every direct message a user got."""
    return [str(m.get("text", "")) for m in slack.messages(slack.dm_channel(user))]


def high_risk() -> dict[str, Any]:
    """The support assistant with write access: a high-risk system (90-day cadence)."""
    data = manifest("support-assistant")
    data["capabilities"] = {**data["capabilities"], "write_targets": ["crm.notes"]}  # type: ignore[dict-item]
    return data


async def to_production(stack: Stack, data: dict[str, Any]) -> None:
    """Register, promote and approve by the three roles."""
    created = await stack.call("POST", "/systems", REQUESTER, json=data)
    assert created.status_code == 201, created.text
    promoted = await stack.call("POST", f"/systems/{SYSTEM}/promotion", REQUESTER, json={})
    assert promoted.status_code == 202, promoted.text
    request_id = promoted.json()["system"]["pending_request"]["id"]
    for person in (BUSINESS, TECH, SECURITY):
        decided = await stack.call(
            "POST", f"/requests/{request_id}/decisions", person, json={"approve": True}
        )
        assert decided.status_code == 200, decided.text
    assert await eventually(lambda: state_is(stack, "production"))


async def view(stack: Stack) -> dict[str, Any]:
    """The live system view."""
    return dict((await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)).json())


async def state_is(stack: Stack, state: str) -> bool:
    """True when the system shows `state`."""
    return bool((await view(stack))["state"] == state)


async def events(stack: Stack, action: str) -> list[dict[str, Any]]:
    """Audit entries of one action for the system."""
    found = await stack.call(
        "GET", "/audit/events", REQUESTER, params={"system": SYSTEM, "limit": 1000}
    )
    return [e for e in found.json() if e["action"] == action]


def at(entry: dict[str, Any]) -> datetime:
    """When an audit entry happened."""
    return datetime.fromisoformat(entry["at"])


async def recertify_by_all(stack: Stack) -> None:
    """Both owners and security attest; the system starts its next cycle."""
    for person in (BUSINESS, TECH, SECURITY):
        done = await stack.call(
            "POST", f"/systems/{SYSTEM}/recertification", person, json={"comment": "reviewed"}
        )
        assert done.status_code == 200, done.text


async def until_count(stack: Stack, action: str, count: int) -> list[dict[str, Any]]:
    """The action's entries once there are `count` of them."""

    async def enough() -> list[dict[str, Any]] | None:
        found = await events(stack, action)
        return found if len(found) >= count else None

    found: list[dict[str, Any]] | None = await eventually(enough, timeout=20)
    assert found is not None, f"{action}: fewer than {count}"
    return found


def close_to(actual: datetime, expected: datetime) -> bool:
    """Stamped at the expected simulated moment (a workflow task may start a moment later)."""
    return expected <= actual + timedelta(seconds=1) and actual - expected < SLACK


async def test_a_simulated_year_of_recertification(
    ts_env: WorkflowEnvironment, jira: JiraEmulator, slack: SlackEmulator, tmp_path: Path
) -> None:
    """Four 90-day cycles, one missed: reminders on time, one overdue ticket opened and closed."""
    settings: Settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    settings.jira = JiraSettings(url=jira.url, user=jira.user, api_token=SecretStr(jira.api_token))
    users = {email: slack.add_user(email) for email in (BUSINESS, TECH, SECURITY)}
    tech_account = jira.add_person(TECH)
    business_account = jira.add_person(BUSINESS)
    settings.slack = SlackSettings(
        bot_token=SecretStr(slack.token),
        signing_secret=SecretStr("s3cr3t-signing"),
        api_url=slack.base_url,
    )
    # No workflow cache before the restart: the time-skipping server does not move a query off a
    # stopped worker's sticky queue, so nothing may be sticky when this worker stops.
    async with running_stack(ts_env.client, settings, max_cached_workflows=0) as stack:
        await to_production(stack, high_risk())
        start = at((await events(stack, "entered_production"))[0])
        recert = (await view(stack))["recertification"]
        assert recert["cadence_days"] == 90 and recert["cycle"] == 1

        # Cycle 1: reminder 14 days before, request at the due date, attested the next day.
        await ts_env.sleep(91 * DAY)
        reminders = await until_count(stack, "recertification_reminder", 1)
        assert close_to(at(reminders[0]), start + 76 * DAY)
        requested = await until_count(stack, "recertification_requested", 1)
        assert close_to(at(requested[0]), start + 90 * DAY)
        assert await state_is(stack, "recertification_due")

        due_text = "is due for recertification on"

        async def reminded() -> bool:
            return all(any(due_text in t for t in texts(slack, users[p])) for p in (BUSINESS, TECH))

        assert await eventually(reminded)
        assert not any(due_text in t for t in texts(slack, users[SECURITY]))
        await recertify_by_all(stack)
        certified = await until_count(stack, "recertified", 1)
        cycle2 = at(certified[0])
        assert (await view(stack))["state"] == "production"

        # Cycle 2 is missed: overdue after the 7-day grace, one ticket, security escalated.
        await ts_env.sleep(99 * DAY)
        overdue = await until_count(stack, "recertification_overdue", 1)
        assert close_to(at(overdue[0]), cycle2 + 97 * DAY)
        assert await until_count(stack, "recertification_escalated", 1)
        assert await until_count(stack, "recertification_ticket_opened", 1)

        async def security_told() -> bool:
            return any("overdue for recertification" in t for t in texts(slack, users[SECURITY]))

        assert await eventually(security_told)
        shown = await view(stack)
        assert shown["state"] == "overdue"
        listed = await stack.call("GET", "/systems", REQUESTER, params={"overdue": "true"})
        assert [s["id"] for s in listed.json()["items"]] == [SYSTEM]
        gate = (await stack.call("GET", f"/systems/{SYSTEM}/gate", REQUESTER)).json()
        assert gate["allowed"] is True and any("overdue" in r for r in gate["reasons"])

    # The worker stops mid-year and a new one takes over: nothing is lost.
    async with running_stack(ts_env.client, settings) as stack:
        assert (await view(stack))["state"] == "overdue"
        await recertify_by_all(stack)
        certified = await until_count(stack, "recertified", 2)
        cycle3 = at(certified[1])
        assert await until_count(stack, "recertification_ticket_closed", 1)
        assert (await view(stack))["state"] == "production"

        # Cycles 3 and 4 are attested on time.
        for number, begun in ((3, cycle3), (4, None)):
            await ts_env.sleep(91 * DAY)
            await until_count(stack, "recertification_reminder", number)
            requested = await until_count(stack, "recertification_requested", number)
            if begun is not None:
                assert close_to(at(requested[-1]), begun + 90 * DAY)
            await recertify_by_all(stack)
            await until_count(stack, "recertified", number)

        assert len(await events(stack, "recertification_overdue")) == 1
        assert (await view(stack))["recertification"]["cycle"] == 5

    overdue_issues = [i for i in jira.store.issues.values() if "overdue" in i.summary.lower()]
    assert len(overdue_issues) == 1
    issue = overdue_issues[0]
    assert issue.status == "Done" and issue.duedate is not None
    assert issue.assignee == {"accountId": tech_account}
    assert issue.watchers == [business_account]  # the business owner watches it
    assert TECH in (issue.description or "") and BUSINESS in (issue.description or "")
    assert any("Recertified" in c.body for c in issue.comments)
