"""Escalation and expiry of approval requests, on the time-skipping test server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.e2e.test_promotion_tour import eventually, register_and_request
from tests.harness import BUSINESS, REQUESTER, Stack, make_settings, running_stack

GOVERNANCE = "gail.governance@example.com"


async def request_status(stack: Stack, request_id: str) -> dict[str, object]:
    """The request as the API shows it."""
    response = await stack.call("GET", f"/requests/{request_id}", REQUESTER)
    return dict(response.json())


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database in the test's directory."""
    return f"sqlite:///{tmp_path}/threshold.db"


async def test_undecided_request_escalates_to_the_fallback_group(
    ts_env: WorkflowEnvironment, sqlite_url: str, tmp_path: Path
) -> None:
    """After 48 quiet hours the governance group may fill pending roles, and it is audited."""
    async with running_stack(ts_env.client, make_settings(sqlite_url, tmp_path)) as stack:
        request_id = await register_and_request(stack)
        stack.token(GOVERNANCE, "approver")
        early = await stack.call(
            "POST", f"/requests/{request_id}/decisions", GOVERNANCE, json={"approve": True}
        )
        assert early.status_code == 403

        await ts_env.sleep(timedelta(hours=49))
        assert (await request_status(stack, request_id))["escalated"] is True
        late = await stack.call(
            "POST", f"/requests/{request_id}/decisions", GOVERNANCE, json={"approve": True}
        )
        assert late.status_code == 200, late.text
        assert late.json()["request"]["decisions"][0]["role"] == "business_owner"

        async def escalation_audited() -> bool:
            events = await stack.call("GET", "/audit/events?system=support-assistant", REQUESTER)
            return "approval_escalated" in [e["action"] for e in events.json()]

        assert await eventually(escalation_audited)


async def test_request_expires_and_the_system_returns_to_pilot(
    ts_env: WorkflowEnvironment, sqlite_url: str, tmp_path: Path
) -> None:
    """A request nobody finishes expires after a week; the system is back in pilot, gate closed."""
    async with running_stack(ts_env.client, make_settings(sqlite_url, tmp_path)) as stack:
        request_id = await register_and_request(stack)
        await stack.call(
            "POST", f"/requests/{request_id}/decisions", BUSINESS, json={"approve": True}
        )
        await ts_env.sleep(timedelta(hours=169))

        async def back_in_pilot() -> bool:
            shown = await stack.call("GET", "/systems/support-assistant", REQUESTER)
            return bool(shown.json()["state"] == "pilot")

        assert await eventually(back_in_pilot)
        assert (await request_status(stack, request_id))["status"] == "expired"
        late = await stack.call(
            "POST", f"/requests/{request_id}/decisions", BUSINESS, json={"approve": True}
        )
        assert late.status_code in (404, 409)
        gate = await stack.call(
            "GET", "/systems/support-assistant/gate?environment=production", REQUESTER
        )
        assert gate.json()["allowed"] is False
