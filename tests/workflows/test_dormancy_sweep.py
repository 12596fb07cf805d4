"""The dormancy sweep (OWASP NHI1) on the time-skipping server: reviews, findings, episodes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from core.settings import JiraSettings, Settings, SlackSettings
from domain.contracts import dormancy_sweep_workflow_id
from domain.dormancy import SweepReport
from tests.e2e.dashboard import browser, csrf_of, sign_in
from tests.e2e.test_credentials_actions import CREDENTIAL, SYSTEM, action, post_actions
from tests.e2e.test_promotion_tour import eventually, manifest
from tests.emulators.jira import JiraEmulator
from tests.emulators.slack import SlackEmulator
from tests.harness import (
    BUSINESS,
    REQUESTER,
    ROOT,
    SECURITY,
    TECH,
    Stack,
    make_settings,
    running_stack,
)
from tests.workflows.test_recertification_year import (
    events,
    texts,
    to_production,
    until_count,
)
from worker import start_dormancy_sweep
from workflows.sweep import DormancySweepWorkflow

DAY = timedelta(days=1)


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


def settings_with(tmp_path: Path, url: str | None = None, **credentials: int) -> Settings:
    """Settings (SQLite unless `url`) whose policy's `credentials` section takes `credentials`."""
    policy = yaml.safe_load((ROOT / "policy.yaml").read_text())
    policy["credentials"] = {**policy["credentials"], **credentials}
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(policy))
    settings = make_settings(url or f"sqlite:///{tmp_path}/t.db", tmp_path)
    return settings.model_copy(update={"policy_file": policy_file})


async def swept_since(stack: Stack, moment: datetime) -> SweepReport:
    """The sweep's report once a sweep as of `moment` or later has finished."""
    handle = stack.client.get_workflow_handle(
        dormancy_sweep_workflow_id(stack.settings.temporal.workflow_id_prefix)
    )

    async def done() -> SweepReport | None:
        report = await handle.query(DormancySweepWorkflow.report)
        return report if report is not None and report.at >= moment else None

    report: SweepReport | None = await eventually(done, timeout=20)
    assert report is not None, f"no sweep finished as of {moment}"
    return report


def detail(entry: dict[str, Any]) -> dict[str, Any]:
    """An audit entry's detail (stored as JSON text)."""
    found: dict[str, Any] = json.loads(entry["detail"])
    return found


async def dormancy(stack: Stack) -> dict[str, Any]:
    """GET /dormancy (the policy's bound, wall-clock time)."""
    response = await stack.call("GET", "/dormancy", REQUESTER)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def episodes(stack: Stack) -> dict[str, Any]:
    """The system's open dormancy episodes, from its live view."""
    shown = (await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)).json()
    found: dict[str, Any] = shown["dormancy"]
    return found


async def open_findings(http: httpx.AsyncClient) -> str:
    """The dashboard's open-findings page."""
    page = await http.get("/findings")
    assert page.status_code == 200, page.text
    return page.text


async def test_an_idle_production_credential_is_reviewed_once_per_episode(
    ts_env: WorkflowEnvironment,
    jira: JiraEmulator,
    slack: SlackEmulator,
    database_url: str,
    tmp_path: Path,
) -> None:
    """A production credential last used 40 days ago: the sweep audits it, tells both owners once,
    opens one Jira review for the technical owner and one acknowledgeable finding; a later
    sweep opens nothing new; an action ends the episode (its review is closed); 30 idle days
    later a new one opens."""
    settings = settings_with(tmp_path, database_url)
    settings.jira = JiraSettings(url=jira.url, user=jira.user, api_token=SecretStr(jira.api_token))
    tech_account = jira.add_person(TECH)
    jira.add_person(BUSINESS)
    users = {email: slack.add_user(email) for email in (BUSINESS, TECH)}
    settings.slack = SlackSettings(
        bot_token=SecretStr(slack.token),
        signing_secret=SecretStr("s3cr3t-signing"),
        api_url=slack.base_url,
    )
    told = f"Credential {CREDENTIAL} of"

    def dms(person: str) -> int:
        return sum(told in text for text in texts(slack, users[person]))

    async with running_stack(ts_env.client, settings) as stack:
        await to_production(stack, manifest("support-assistant"))
        long_ago = datetime.now(UTC) - timedelta(days=40)
        await post_actions(stack, [action(time=long_ago.isoformat())])
        started = datetime.now(UTC)
        await start_dormancy_sweep(stack.client, settings)
        await start_dormancy_sweep(stack.client, settings)  # a second worker: the same sweep
        first = await swept_since(stack, started - timedelta(minutes=1))
        assert first.systems == 1 and first.findings == 1
        [audited] = await until_count(stack, "credential_dormant", 1)
        assert detail(audited)["credential_id"] == CREDENTIAL
        assert detail(audited)["finding"] is True and detail(audited)["idle_days"] == 40
        assert await until_count(stack, "system_dormant", 1)
        opened = await until_count(stack, "dormancy_ticket_opened", 2)

        [issue] = [i for i in jira.store.issues.values() if CREDENTIAL in i.summary]
        assert issue.summary.startswith("[Threshold] Dormant: credential")
        assert issue.assignee == {"accountId": tech_account}
        assert "Revoke the credential or record why it is kept" in str(issue.description)
        assert issue.key in {detail(e)["ticket"] for e in opened}

        async def both_told() -> bool:
            return dms(TECH) == 1 and dms(BUSINESS) == 1

        assert await eventually(both_told)

        listed = await dormancy(stack)
        [idle] = listed["credentials"]
        assert idle["credential_id"] == CREDENTIAL and idle["finding"] is True
        assert idle["review"] == issue.key
        assert listed["systems"][0]["review"] not in (None, issue.key)

        async with browser(stack) as http:
            await sign_in(http, stack.tokens[TECH])
            page = await open_findings(http)
            assert "credential_dormant" in page and CREDENTIAL in page
            acknowledged = await http.post(
                f"/findings/{SYSTEM}/credential_dormant/acknowledge",
                data={
                    "csrf_token": csrf_of(page),
                    "reason": "kept for the quarterly export",
                    "next": "/findings",
                },
            )
            assert acknowledged.status_code == 303, acknowledged.text
            assert "credential_dormant" not in await open_findings(http)

        # The next day's sweep finds the same episode: nothing new is opened.
        await ts_env.sleep(DAY + timedelta(hours=1))
        again = await swept_since(stack, first.next_at)
        assert again.systems == 0 and again.findings == 0  # no system needed telling
        assert len(await events(stack, "credential_dormant")) == 1
        assert len(await events(stack, "dormancy_ticket_opened")) == 2
        assert len([i for i in jira.store.issues.values() if "Dormant" in i.summary]) == 2
        assert dms(TECH) == 1 and dms(BUSINESS) == 1

        # The credential acts again: the next sweep ends the episode.
        await post_actions(stack, [action(time=datetime.now(UTC).isoformat())])
        await ts_env.sleep(DAY)
        await swept_since(stack, again.next_at)

        async def ended() -> bool:
            return await episodes(stack) == {}

        assert await eventually(ended), await episodes(stack)
        assert await dormancy(stack) == {"days": 30, "credentials": [], "systems": []}
        assert await until_count(stack, "dormancy_ticket_closed", 2)  # credential and system

        async def review_done() -> bool:
            return jira.issue(issue.key).status == "Done"

        assert await eventually(review_done), jira.issue(issue.key).status
        assert "No longer dormant" in jira.issue(issue.key).comments[-1].body

        # Thirty idle days later it is dormant again: a new episode, review and finding.
        await ts_env.sleep(31 * DAY)
        assert await until_count(stack, "credential_dormant", 2)
        assert await until_count(stack, "dormancy_ticket_opened", 4)
        reviews = [i for i in jira.store.issues.values() if CREDENTIAL in i.summary]
        assert len(reviews) == 2
        async with browser(stack) as http:
            await sign_in(http, stack.tokens[TECH])
            assert "credential_dormant" in await open_findings(http)
        # Dormancy is a review, not a breach: no revalidation, no containment.
        shown = (await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)).json()
        assert shown["state"] == "production" and shown["pending_request"] is None
        assert await events(stack, "action_finding") == []


async def test_an_idle_pilot_credential_is_reviewed_but_is_no_finding(
    ts_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A pilot system never acting for 30 days: its credential and itself get a review ticket in
    the local tracker, and nothing is listed among the findings until it is promoted."""
    settings = settings_with(tmp_path)
    async with running_stack(ts_env.client, settings) as stack:
        created = await stack.call(
            "POST", "/systems", REQUESTER, json=manifest("support-assistant")
        )
        assert created.status_code == 201, created.text
        await start_dormancy_sweep(stack.client, settings)
        await ts_env.sleep(31 * DAY)
        [audited] = await until_count(stack, "credential_dormant", 1)
        assert detail(audited)["finding"] is False
        assert detail(audited)["environment"] == "production"
        await until_count(stack, "dormancy_ticket_opened", 2)
        tickets = (await stack.call("GET", f"/tickets?system={SYSTEM}", REQUESTER)).json()
        kinds = sorted(t["kind"] for t in tickets["items"])
        assert kinds == ["credential_dormant", "system_dormant"]
        assert all(t["tracker"] == "local" and t["status"] == "open" for t in tickets["items"])
        opened = await episodes(stack)
        assert set(opened) == {CREDENTIAL, ""} and not opened[CREDENTIAL]["finding"]
        async with browser(stack) as http:
            await sign_in(http, stack.tokens[TECH])
            assert "credential_dormant" not in await open_findings(http)

        # Promoted while still idle: the same episode (no new review) is now a finding.
        promoted = await stack.call("POST", f"/systems/{SYSTEM}/promotion", REQUESTER, json={})
        assert promoted.status_code == 202, promoted.text
        request_id = promoted.json()["system"]["pending_request"]["id"]
        for person in (BUSINESS, TECH, SECURITY):
            decided = await stack.call(
                "POST", f"/requests/{request_id}/decisions", person, json={"approve": True}
            )
            assert decided.status_code == 200, decided.text
        await ts_env.sleep(DAY)

        async def a_finding() -> bool:
            return bool((await episodes(stack))[CREDENTIAL]["finding"])

        assert await eventually(a_finding, timeout=20), await episodes(stack)
        async with browser(stack) as http:
            await sign_in(http, stack.tokens[TECH])
            assert "credential_dormant" in await open_findings(http)
        assert len(await events(stack, "credential_dormant")) == 1
        assert len(await events(stack, "dormancy_ticket_opened")) == 2


async def test_dormancy_days_zero_opens_nothing(
    ts_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """With `credentials.dormancy_days: 0` the sweep still runs and opens no review."""
    settings = settings_with(tmp_path, dormancy_days=0, dormancy_sweep_hours=48)
    async with running_stack(ts_env.client, settings) as stack:
        created = await stack.call(
            "POST", "/systems", REQUESTER, json=manifest("support-assistant")
        )
        assert created.status_code == 201, created.text
        started = datetime.now(UTC)
        await start_dormancy_sweep(stack.client, settings)
        first = await swept_since(stack, started - timedelta(minutes=1))
        assert first.next_at - first.at == timedelta(hours=48)
        await ts_env.sleep(41 * DAY)
        await swept_since(stack, started + 40 * DAY)
        assert await events(stack, "credential_dormant") == []
        assert await events(stack, "system_dormant") == []
        tickets = (await stack.call("GET", f"/tickets?system={SYSTEM}", REQUESTER)).json()
        assert tickets["items"] == []
