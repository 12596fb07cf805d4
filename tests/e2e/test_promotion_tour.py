"""The README tour, end to end through the HTTP API on the Temporal dev server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from temporalio.testing import WorkflowEnvironment

from tests.harness import (
    BUSINESS,
    EXAMPLES,
    REQUESTER,
    SECURITY,
    TECH,
    Stack,
    make_settings,
    running_stack,
)

pytestmark = pytest.mark.devserver


def manifest(name: str) -> dict[str, object]:
    """An example manifest as a dict."""
    data = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    return dict(json.loads(json.dumps(data, default=str)))


async def eventually(check, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    """Poll `check` (async, returns truthy when done) until it passes or time runs out."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.05)


async def register_and_request(stack: Stack) -> str:
    """Register the support assistant and request its promotion as the requester."""
    created = await stack.call("POST", "/systems", REQUESTER, json=manifest("support-assistant"))
    assert created.status_code == 201, created.text
    assert created.json()["system"]["state"] == "pilot"
    promoted = await stack.call("POST", "/systems/support-assistant/promotion", REQUESTER, json={})
    assert promoted.status_code == 202, promoted.text
    request = promoted.json()["system"]["pending_request"]
    assert [r for r in request["required_roles"]] == [
        "business_owner",
        "technical_owner",
        "security",
    ]
    return str(request["id"])


async def test_promotion_approved_by_three_opens_the_production_gate(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """Three approvers promote the support assistant; the gate opens and the audit chain verifies."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        request_id = await register_and_request(stack)
        gate = await stack.call(
            "GET", "/systems/support-assistant/gate?environment=production", REQUESTER
        )
        assert gate.json()["allowed"] is False
        assert "awaits approval" in gate.json()["reasons"][0]

        for who in (BUSINESS, TECH, SECURITY):
            decided = await stack.call(
                "POST", f"/requests/{request_id}/decisions", who, json={"approve": True}
            )
            assert decided.status_code == 200, decided.text
        assert decided.json()["request"]["status"] == "approved"

        gate = await stack.call(
            "GET", "/systems/support-assistant/gate?environment=production", REQUESTER
        )
        assert gate.json()["allowed"] is True
        shown = await stack.call("GET", "/systems/support-assistant", REQUESTER)
        assert shown.json()["state"] == "production"
        assert shown.json()["approved_manifest"]["id"] == "support-assistant"

        async def audited() -> bool:
            events = await stack.call("GET", "/audit/events?system=support-assistant", REQUESTER)
            return "entered_production" in [e["action"] for e in events.json()]

        assert await eventually(audited)
        verified = await stack.call("GET", "/audit/verify", REQUESTER)
        assert verified.json()["ok"] is True, verified.json()
        listed = await stack.call("GET", "/systems?state=production", REQUESTER)
        assert [s["id"] for s in listed.json()["items"]] == ["support-assistant"]


async def test_requester_cannot_approve_and_refusal_changes_nothing(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """The requester's own approval is refused with 403 and the request stays untouched."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        request_id = await register_and_request(stack)
        stack.token(REQUESTER, "approver")
        refused = await stack.call(
            "POST", f"/requests/{request_id}/decisions", REQUESTER, json={"approve": True}
        )
        assert refused.status_code == 403
        assert "four-eyes" in refused.json()["error"]["message"]
        request = await stack.call("GET", f"/requests/{request_id}", REQUESTER)
        assert request.json()["decisions"] == []
        assert request.json()["status"] == "pending"


async def test_missing_owner_is_refused_naming_the_field(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """Registering a governed system without a business owner is refused and names the field."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        refused = await stack.call("POST", "/systems", REQUESTER, json=manifest("missing-owner"))
        assert refused.status_code == 422, refused.text
        fields = [p["field"] for p in refused.json()["error"]["problems"]]
        assert fields == ["business_owner"]
        missing = await stack.call("GET", "/systems/support-assistant-draft", REQUESTER)
        assert missing.status_code == 404
        fixed = manifest("missing-owner") | {"business_owner": BUSINESS}
        created = await stack.call("POST", "/systems", REQUESTER, json=fixed)
        assert created.status_code == 201, created.text
