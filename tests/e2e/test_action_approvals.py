"""Just-in-time action approvals end to end: authorize opens an approval request that Slack, the
dashboard and the CLI decide by the same rules; it expires, and containment withdraws it."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings, SlackSettings
from integrations.slack_blocks import APPROVE_ACTION
from tests.e2e.dashboard import browser, csrf_of, sign_in
from tests.e2e.test_authorize import ask, authorize, in_production
from tests.e2e.test_credentials_actions import ADMIN, SYSTEM, settings_for
from tests.e2e.test_promotion_tour import eventually
from tests.e2e.test_secret_edges import histories_text
from tests.e2e.test_slack_approvals import PEOPLE, SECRET, USER_IDS, click
from tests.emulators.slack import SlackEmulator
from tests.harness import BUSINESS, REQUESTER, TECH, Stack, running_stack
from tests.secret_corpus import SECRETS, leaked

pytestmark = pytest.mark.devserver
ACTION = "send reply to customer"
MINE = re.compile(r'<tr data-mine[^>]*><th scope="row"><a href="/requests/([^"]+)"')


def with_policy(settings: Settings, tmp_path: Path, **approvals: Any) -> Settings:
    """The settings with `approvals.<key>` set in their policy file."""
    assert settings.policy_file is not None
    policy = yaml.safe_load(settings.policy_file.read_text())
    policy.setdefault("approvals", {}).update(approvals)
    path = tmp_path / "policy-approvals.yaml"
    path.write_text(yaml.safe_dump(policy))
    return settings.model_copy(update={"policy_file": path})


async def ask_approval(stack: Stack) -> dict[str, Any]:
    """Authorize an action under human approval once the snapshot shows the system in
    production (until then it is denied there); its require_approval answer."""

    async def opened() -> dict[str, Any] | None:
        answer = await authorize(stack, action=ACTION)
        return answer if answer["decision"] == "require_approval" else None

    asked: dict[str, Any] | None = await eventually(opened)
    assert asked is not None, "authorize never asked for an approval"
    assert asked["approval_id"] and asked["expires_at"]
    return asked


async def final(stack: Stack, approval_id: str) -> dict[str, Any]:
    """The long poll's answer once the approval settled."""

    async def settled() -> dict[str, Any] | None:
        polled = await stack.call("GET", f"/authorize/{approval_id}?wait=5", REQUESTER)
        assert polled.status_code == 200, polled.text
        answer: dict[str, Any] = polled.json()
        return answer if answer["decision"] != "require_approval" else None

    answer: dict[str, Any] | None = await eventually(settled, timeout=30)
    assert answer, f"approval {approval_id} never settled"
    return answer


async def test_approval_is_a_request_decided_in_the_dashboard_and_recorded(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """The approval is an approval request of kind action: listed under the business owner's
    "needs my decision", absent from the technical owner's; approved on its request page it
    answers the runtime's long poll with allow, and the ledger holds the action with its
    approver; the audit ledger names request and approval."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        asked = await ask_approval(stack)
        approval_id = asked["approval_id"]
        shown = await stack.call("GET", f"/requests/{approval_id}", REQUESTER)
        assert shown.json()["kind"] == "action"
        assert f"action: {ACTION}" in shown.json()["change"]
        assert shown.json()["required_roles"] == ["business_owner"]
        page_link = shown.headers["link"].split(";")[0].strip("<>")
        assert page_link == f"/requests/{approval_id}"  # the dashboard page Slack links to
        polled = await stack.call("GET", f"/authorize/{approval_id}", REQUESTER)
        assert polled.json()["decision"] == "require_approval"
        assert "awaits business_owner" in polled.json()["reasons"][0]
        async with browser(stack) as dana, browser(stack) as tom:
            await sign_in(dana, stack.tokens[BUSINESS])
            await sign_in(tom, stack.tokens[TECH])

            async def listed() -> bool:
                return approval_id in MINE.findall((await dana.get("/")).text)

            assert await eventually(listed)
            assert approval_id not in MINE.findall((await tom.get("/")).text)
            page = await dana.get(page_link)
            assert f"Approve {approval_id}" in page.text and ACTION in page.text
            waiting = asyncio.ensure_future(
                stack.call("GET", f"/authorize/{approval_id}?wait=30", REQUESTER)
            )
            form = {"csrf_token": csrf_of(page.text), "next": f"/requests/{approval_id}"}
            done = await dana.post(f"/approvals/{approval_id}", data=form | {"decision": "approve"})
            assert done.status_code == 303, done.text  # no confirm step: not a promotion
        answer = (await waiting).json()
        assert answer["decision"] == "allow" and answer["decided_by"] == [BUSINESS], answer

        async def recorded() -> list[dict[str, Any]]:
            found = await stack.call("GET", f"/trace?system={SYSTEM}&since=1h", REQUESTER)
            return [a for a in found.json()["actions"] if a.get("approved_by") == BUSINESS]

        approved = await eventually(recorded)
        assert approved and approved[0]["tool"] == "search_kb"
        audit = await stack.call("GET", f"/audit/events?system={SYSTEM}&limit=500", ADMIN)
        actions = [e["action"] for e in audit.json() if e["request_id"] == approval_id]
        assert "action_approval_requested" in actions and "action_approval_approved" in actions
        again = await stack.call("GET", f"/authorize/{approval_id}", REQUESTER)
        assert again.json()["decision"] == "allow"  # re-asked, still the one decision


async def test_rejected_expired_and_withdrawn_approvals_deny(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A rejection denies with its reason; an approval nobody decides expires (deny)."""
    settings = with_policy(
        settings_for(database_url, tmp_path), tmp_path, action_expire_minutes=0.05
    )
    async with running_stack(dev_env.client, settings) as stack:
        await in_production(stack)
        rejected = await ask_approval(stack)
        no = await stack.call(
            "POST",
            f"/requests/{rejected['approval_id']}/decisions",
            BUSINESS,
            json={"approve": False, "comment": "not this customer"},
        )
        assert no.status_code == 200, no.text
        answer = await final(stack, rejected["approval_id"])
        assert answer["decision"] == "deny" and answer["codes"] == ["approval_rejected"]
        assert "not this customer" in answer["reasons"][0]

        expired = await ask_approval(stack)
        answer = await final(stack, expired["approval_id"])
        assert answer["decision"] == "deny" and answer["codes"] == ["approval_expired"]


async def test_retried_call_finds_its_own_approval(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """The same Idempotency-Key answers the same approval, without it each call asks anew; a
    containment withdraws the open ones (deny) and they take no decision afterwards."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        await ask_approval(stack)  # the snapshot shows production
        body = ask(action=ACTION)
        key = {"Idempotency-Key": "agent-call-1"}
        first = await stack.call("POST", "/authorize", REQUESTER, json=body, headers=key)
        again = await stack.call("POST", "/authorize", REQUESTER, json=body, headers=key)
        other = await stack.call("POST", "/authorize", REQUESTER, json=body)
        assert first.json()["approval_id"] == again.json()["approval_id"]
        assert other.json()["approval_id"] != first.json()["approval_id"]
        unknown = await stack.call("GET", f"/authorize/{SYSTEM}-999", REQUESTER)
        assert unknown.status_code == 404
        open_ = other.json()
        contained = await stack.call(
            "POST", f"/systems/{SYSTEM}/contain", ADMIN, json={"reason": "leak"}
        )
        assert contained.status_code == 200, contained.text
        answer = await final(stack, open_["approval_id"])
        assert answer["decision"] == "deny" and answer["codes"] == ["approval_withdrawn"]
        assert "contained" in answer["reasons"][0]
        late = await stack.call(
            "POST", f"/requests/{open_['approval_id']}/decisions", BUSINESS, json={"approve": True}
        )
        assert late.status_code == 409


@pytest.fixture
def slack() -> Any:
    """A Slack Web API emulator with the tour's people as members."""
    with SlackEmulator() as emulator:
        for email in PEOPLE:
            USER_IDS[email] = emulator.add_user(email)
        yield emulator


async def test_slack_click_approves_the_action(
    dev_env: WorkflowEnvironment, slack: SlackEmulator, database_url: str, tmp_path: Path
) -> None:
    """The business owner gets the approval as a Slack DM at once (no ticket is opened for a
    minutes-long approval) and one signed click answers the runtime's long poll."""
    settings = settings_for(database_url, tmp_path)
    settings.slack = SlackSettings(
        bot_token=SecretStr(slack.token), signing_secret=SecretStr(SECRET), api_url=slack.base_url
    )
    async with running_stack(dev_env.client, settings) as stack:
        await in_production(stack)
        asked = await ask_approval(stack)
        approval_id = asked["approval_id"]
        waiting = asyncio.ensure_future(
            stack.call("GET", f"/authorize/{approval_id}?wait=30", REQUESTER)
        )
        clicked = await click(stack, slack, BUSINESS, APPROVE_ACTION, approval_id)
        assert clicked.status_code == 200, clicked.text
        answer = (await waiting).json()
        assert answer["decision"] == "allow" and answer["decided_by"] == [BUSINESS]
        shown = await stack.call("GET", f"/requests/{approval_id}", REQUESTER)
        assert shown.json()["ticket"] is None


async def test_a_secret_in_the_call_never_reaches_the_approval(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A runtime that pastes a secret into its trace id or MCP fields still gets its approval,
    but the request, the approval's history and the system's history hold only masks."""
    sample = SECRETS[0]
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        await ask_approval(stack)  # the snapshot shows production
        asked = await authorize(
            stack, action=ACTION, trace_id=sample.value, mcp_tool=f"tool {sample.value}"
        )
        assert asked["decision"] == "require_approval", asked
        shown = await stack.call("GET", f"/requests/{asked['approval_id']}", REQUESTER)
        assert shown.status_code == 200
        assert not leaked(sample, shown.text)
        assert "trace: [secret]" in shown.json()["change"]
        assert not leaked(sample, await histories_text(stack))
