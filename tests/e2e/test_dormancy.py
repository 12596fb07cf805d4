"""Dormancy (OWASP NHI1) end to end: idle production credentials on the dev server's stack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.e2e.test_credentials_actions import (
    CREDENTIAL,
    SYSTEM,
    action,
    post_actions,
    settings_for,
)
from tests.e2e.test_promotion_tour import eventually
from tests.e2e.test_scope_changes import in_production
from tests.harness import REQUESTER, Stack, running_stack

pytestmark = pytest.mark.devserver


async def dormancy(stack: Stack, query: str = "") -> dict[str, Any]:
    """GET /dormancy with a query string; assert it answered."""
    response = await stack.call("GET", f"/dormancy{query}", REQUESTER)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_an_unused_production_credential_is_a_dormancy_finding_until_it_acts(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A production credential whose last action was 45 days ago is listed as a finding under
    the policy's 30 days, not under ?days=60; a fresh action takes it off; bad bounds are 422."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        old = (datetime.now(UTC) - timedelta(days=45)).isoformat()
        await post_actions(stack, [action(time=old)])

        async def listed() -> bool:
            found = await dormancy(stack)
            return any(d["credential_id"] == CREDENTIAL for d in found["credentials"])

        assert await eventually(listed)
        found = await dormancy(stack)
        assert found["days"] == 30
        [idle] = [d for d in found["credentials"] if d["credential_id"] == CREDENTIAL]
        assert idle["system_id"] == SYSTEM and idle["finding"] is True
        assert idle["idle_days"] == 45 and idle["last_action_at"] is not None
        assert [s["system_id"] for s in found["systems"]] == [SYSTEM]
        assert (await dormancy(stack, "?days=60"))["credentials"] == []
        assert (await dormancy(stack, "?environment=pilot"))["credentials"] == []

        await post_actions(stack, [action(time=datetime.now(UTC).isoformat())])
        assert (await dormancy(stack)) == {"days": 30, "credentials": [], "systems": []}

        refused = await stack.call("GET", "/dormancy?days=0", REQUESTER)
        assert refused.status_code == 422 and "days" in refused.text
        anonymous = await stack.http.get("/api/v1/dormancy")
        assert anonymous.status_code == 401
