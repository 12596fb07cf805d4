"""Registration through the API: one start on the fast path; repeats, conflicts and retired ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from tests.e2e.test_promotion_tour import manifest
from tests.harness import REQUESTER, Stack, make_settings, running_stack

pytestmark = pytest.mark.devserver
ADMIN = "ada.admin@example.com"


async def registered_events(stack: Stack, system_id: str) -> list[dict[str, object]]:
    """The `registered` audit events of a system."""
    events = await stack.call("GET", f"/audit/events?system={system_id}", REQUESTER)
    return [e for e in events.json() if e["action"] == "registered"]


async def test_repeat_conflict_and_retired_id(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A retried POST answers once; another registration of the id and a retired id get 409."""
    settings = make_settings(database_url, tmp_path)
    body = manifest("support-assistant")
    async with running_stack(dev_env.client, settings) as stack:
        key = {"Idempotency-Key": "deploy-42"}
        first = await stack.call("POST", "/systems", REQUESTER, json=body, headers=key)
        assert first.status_code == 201, first.text
        assert first.json()["system"]["state"] == "pilot"
        again = await stack.call("POST", "/systems", REQUESTER, json=body, headers=key)
        assert again.status_code in (200, 201), again.text
        assert again.json()["duplicate"] is True
        assert again.json()["system"]["registered_at"] == first.json()["system"]["registered_at"]

        other = await stack.call("POST", "/systems", REQUESTER, json=body)
        assert other.status_code == 409
        assert "already registered" in other.json()["error"]["message"]
        assert len(await registered_events(stack, "support-assistant")) == 1

        stack.token(ADMIN, "admin")
        retired = await stack.call(
            "POST", "/systems/support-assistant/retire", ADMIN, json={"reason": "replaced"}
        )
        assert retired.status_code == 200, retired.text
        reused = await stack.call("POST", "/systems", REQUESTER, json=body)
        assert reused.status_code == 409, reused.text
        assert "retired" in reused.json()["error"]["message"]


async def test_refused_registration_starts_nothing_and_leaves_the_id_free(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A manifest missing its owner is refused naming the field; no workflow exists after it."""
    settings = make_settings(database_url, tmp_path)
    body = manifest("support-assistant")
    async with running_stack(dev_env.client, settings) as stack:
        refused = await stack.call(
            "POST", "/systems", REQUESTER, json={**body, "business_owner": None}
        )
        assert refused.status_code == 422, refused.text
        fields = [p["field"] for p in refused.json()["error"]["problems"]]
        assert fields == ["business_owner"]
        handle = dev_env.client.get_workflow_handle(stack.workflow_id("support-assistant"))
        with pytest.raises(RPCError):
            await handle.describe()
        assert await registered_events(stack, "support-assistant") == []

        fixed = await stack.call("POST", "/systems", REQUESTER, json=body)
        assert fixed.status_code == 201, fixed.text
        shown = await stack.call("GET", "/systems/support-assistant", REQUESTER)
        assert shown.json()["registered_at"] == fixed.json()["system"]["registered_at"]
