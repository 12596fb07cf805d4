"""A time-boxed exception lets a gap pass, then expires and closes the gate on time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from tests.e2e.test_promotion_tour import eventually, manifest
from tests.harness import BUSINESS, REQUESTER, SECURITY, TECH, Stack, make_settings, running_stack
from tests.workflows.test_recertification_year import at, close_to, events, until_count, view

SYSTEM = "support-assistant"
DAY = timedelta(days=1)


async def gate(stack: Stack) -> dict[str, Any]:
    """The production gate for the approved scope."""
    return dict((await stack.call("GET", f"/systems/{SYSTEM}/gate", REQUESTER)).json())


async def approve(stack: Stack, request_id: str, *people: str) -> None:
    """Each person approves the request."""
    for person in people:
        done = await stack.call(
            "POST", f"/requests/{request_id}/decisions", person, json={"approve": True}
        )
        assert done.status_code == 200, done.text


async def test_exception_waives_a_gap_until_it_expires(
    ts_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Waived: promotion passes the gap; expired: the gap counts again and the gate closes."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    async with running_stack(ts_env.client, settings) as stack:
        data = manifest("support-assistant")
        data["logging"] = None
        created = await stack.call("POST", "/systems", REQUESTER, json=data)
        assert created.status_code == 201, created.text
        refused = await stack.call("POST", f"/systems/{SYSTEM}/promotion", REQUESTER, json={})
        assert refused.status_code == 409 and "logging" in refused.text

        too_long = await stack.call(
            "POST",
            f"/systems/{SYSTEM}/exceptions",
            REQUESTER,
            json={"gap": "no_logging_policy", "until": "2099-01-01", "reason": "vendor fix"},
        )
        assert too_long.status_code == 422 and "max_days" in too_long.text
        until = (datetime.now(UTC) + 30 * DAY).replace(microsecond=0)
        asked = await stack.call(
            "POST",
            f"/systems/{SYSTEM}/exceptions",
            REQUESTER,
            json={"gap": "no_logging_policy", "until": until.isoformat(), "reason": "vendor fix"},
        )
        assert asked.status_code == 202, asked.text
        exception = asked.json()["system"]["exceptions"][0]
        assert exception["status"] == "pending"
        own = await stack.call(
            "POST",
            f"/requests/{exception['request_id']}/decisions",
            REQUESTER,
            json={"approve": True},
        )
        assert own.status_code == 403
        await approve(stack, exception["request_id"], SECURITY)

        async def granted() -> bool:
            return bool((await view(stack))["exceptions"][0]["status"] == "active")

        assert await eventually(granted)
        promoted = await stack.call("POST", f"/systems/{SYSTEM}/promotion", REQUESTER, json={})
        assert promoted.status_code == 202, promoted.text
        request = promoted.json()["system"]["pending_request"]
        assert any("no_logging_policy" in w for w in request["waived"])
        await approve(stack, request["id"], BUSINESS, TECH, SECURITY)

        async def in_production() -> bool:
            return bool((await view(stack))["state"] == "production")

        assert await eventually(in_production)
        open_gate = await gate(stack)
        assert open_gate["allowed"] is True
        assert any("waiver: no_logging_policy" in r for r in open_gate["reasons"])
        listed = await stack.call(
            "GET", "/exceptions", REQUESTER, params={"expiring_within": "31d"}
        )
        assert [e["exception"]["gap"] for e in listed.json()] == ["no_logging_policy"]

        await ts_env.sleep(29 * DAY)
        assert (await gate(stack))["allowed"] is True
        await ts_env.sleep(2 * DAY)
        expired = await until_count(stack, "exception_expired", 1)
        assert close_to(at(expired[0]), until)
        closed = await gate(stack)
        assert closed["allowed"] is False
        assert "no_logging_policy" in closed["reasons"][0]
        assert (await view(stack))["lapsed_gaps"] == ["no_logging_policy"]
        assert await until_count(stack, "exception_ticket_opened", 1)
        assert len(await events(stack, "exception_granted")) == 1

        # The gap goes to revalidation; approving it accepts the system as it stands.
        held = await view(stack)
        assert held["state"] == "revalidation_pending"
        revalidation = held["pending_request"]
        assert revalidation["required_roles"] == ["technical_owner", "security"]
        await approve(stack, revalidation["id"], TECH, SECURITY)

        async def released() -> bool:
            return bool((await gate(stack))["allowed"])

        assert await eventually(released)
        assert (await view(stack))["lapsed_gaps"] == []


async def test_exceptions_are_revoked_by_security_or_their_requester_only(
    ts_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A pending exception revoked withdraws its request; an owner may not revoke one."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    async with running_stack(ts_env.client, settings) as stack:
        data = manifest("support-assistant")
        data["logging"] = None
        assert (await stack.call("POST", "/systems", REQUESTER, json=data)).status_code == 201
        until = (datetime.now(UTC) + 10 * DAY).date().isoformat()
        body = {"gap": "no_logging_policy", "until": until, "reason": "vendor fix"}
        asked = await stack.call("POST", f"/systems/{SYSTEM}/exceptions", REQUESTER, json=body)
        assert asked.status_code == 202, asked.text
        request_id = asked.json()["system"]["exceptions"][0]["request_id"]
        again = await stack.call("POST", f"/systems/{SYSTEM}/exceptions", REQUESTER, json=body)
        assert again.status_code == 409
        path = f"/systems/{SYSTEM}/exceptions/no_logging_policy/revoke"
        owner = await stack.call("POST", path, BUSINESS, json={"reason": "mine"})
        assert owner.status_code == 403
        revoked = await stack.call("POST", path, SECURITY, json={"reason": "not needed"})
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["system"]["exceptions"][0]["status"] == "revoked"

        async def withdrawn() -> bool:
            found = await stack.call("GET", f"/requests/{request_id}", REQUESTER)
            return bool(found.json()["status"] == "withdrawn")

        assert await eventually(withdrawn)
        assert len(await events(stack, "exception_revoked")) == 1
