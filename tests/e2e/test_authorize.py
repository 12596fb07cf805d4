"""Authorize before acting end to end: HTTP API and CLI on the dev server."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from cli.governed import ActionDenied, Governor
from core.settings import Settings
from tests.e2e.test_credentials_actions import ADMIN, CREDENTIAL, SYSTEM, settings_for
from tests.e2e.test_promotion_tour import eventually, register_and_request
from tests.harness import BUSINESS, REQUESTER, SECURITY, TECH, Stack, running_stack, serve_api

pytestmark = pytest.mark.devserver


def ask(**fields: Any) -> dict[str, Any]:
    """An authorize request of the support assistant in production (override any field)."""
    return {
        "system": SYSTEM,
        "environment": "production",
        "tool": "search_kb",
        "access": "read",
        "target": "kb.articles",
        "credential_id": CREDENTIAL,
        "trace_id": uuid.uuid4().hex,
        **fields,
    }


async def authorize(stack: Stack, **fields: Any) -> dict[str, Any]:
    """POST /authorize as the runtime (an emitter token); assert it answered."""
    response = await stack.call("POST", "/authorize", REQUESTER, json=ask(**fields))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def in_production(stack: Stack) -> None:
    """Register the support assistant, have its three approvers promote it, wait for production
    (what authorize reads is the projection, not the decision's answer)."""
    request_id = await register_and_request(stack)
    for who in (BUSINESS, TECH, SECURITY):
        decided = await stack.call(
            "POST", f"/requests/{request_id}/decisions", who, json={"approve": True}
        )
        assert decided.status_code == 200, decided.text

    async def production() -> bool:
        shown = await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)
        return bool(shown.json()["state"] == "production")

    assert await eventually(production)


async def approve_pending_action(stack: Stack) -> bool:
    """The business owner approves the first action approval waiting for them (False: none yet)."""
    found = await stack.call("GET", f"/requests?system={SYSTEM}&status=pending&mine=true", BUSINESS)
    items = [r for r in found.json()["items"] if r["kind"] == "action"]
    if not items:
        return False
    path = f"/requests/{items[0]['id']}/decisions"
    decided = await stack.call("POST", path, BUSINESS, json={"approve": True})
    return decided.status_code == 200


def fast(settings: Settings, **api: Any) -> Settings:
    """Settings with the authorize options given."""
    return settings.model_copy(update={"api": settings.api.model_copy(update=api)})


async def test_authorize_allows_denies_asks_and_follows_containment(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """Within scope is allowed, outside it denied naming the scope, an approved action waits
    for another principal, containment and retirement deny, and the denials are in the ledger."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)

        async def allowed() -> bool:
            answer = await authorize(stack)
            return bool(answer["decision"] == "allow" and answer["state"] == "production")

        assert await eventually(allowed)
        allow = await authorize(stack)
        assert "within the approved scope of support-assistant" in allow["reasons"][0]
        assert allow["state"] == "production" and allow["version"] > 0

        denied = await authorize(stack, tool="delete_ticket", access="write", target="crm.tickets")
        assert denied["decision"] == "deny"
        assert "tool_out_of_scope" in denied["codes"]
        assert any(
            f"approved scope support-assistant v{denied['version']}" in r for r in denied["reasons"]
        )

        asked = await authorize(stack, action="send reply to customer")
        assert asked["decision"] == "require_approval", asked
        path = f"/authorize/{asked['approval_id']}"
        waiting = asyncio.ensure_future(stack.call("GET", f"{path}?wait=30", REQUESTER))
        decided = await stack.call(
            "POST", f"/requests/{asked['approval_id']}/decisions", BUSINESS, json={"approve": True}
        )
        assert decided.status_code == 200, decided.text
        final = (await waiting).json()
        assert final["decision"] == "allow" and final["decided_by"] == [BUSINESS], final
        assert f"approved by {BUSINESS}" in final["reasons"][0]

        contained = await stack.call(
            "POST", f"/systems/{SYSTEM}/contain", ADMIN, json={"reason": "leak"}
        )
        assert contained.status_code == 200, contained.text

        async def denied_contained() -> bool:
            return "action_while_contained" in (await authorize(stack))["codes"]

        assert await eventually(denied_contained)
        retired = await stack.call(
            "POST", f"/systems/{SYSTEM}/retire", ADMIN, json={"reason": "replaced"}
        )
        assert retired.status_code == 200, retired.text

        async def denied_retired() -> bool:
            answer = await authorize(stack)
            return bool(answer["decision"] == "deny" and answer["state"] == "retired")

        assert await eventually(denied_retired)

        async def ledger_has_denials() -> bool:
            found = await stack.call("GET", f"/trace?system={SYSTEM}&since=1h", REQUESTER)
            tools = [a.get("tool") for a in found.json().get("actions", [])]
            return "delete_ticket" in tools

        assert await eventually(ledger_has_denials)


async def test_self_approval_refused_and_bad_input_is_4xx(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """The principal who asked may not approve; no token is 401; bad fields are 422; unknown
    systems 404."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        asked: dict[str, Any] = {}

        async def opened() -> bool:
            response = await stack.call(
                "POST", "/authorize", BUSINESS, json=ask(action="send reply to customer")
            )
            asked.update(response.json())
            return asked.get("decision") == "require_approval"

        assert await eventually(opened)
        path = f"/requests/{asked['approval_id']}/decisions"
        mine = await stack.call("POST", path, BUSINESS, json={"approve": True})
        assert mine.status_code == 403
        assert "four-eyes" in mine.json()["error"]["message"]
        other = await stack.call("POST", path, TECH, json={"approve": True})
        assert other.status_code == 403  # not an action approver (business_owner by default)
        assert "holds none of the roles" in other.json()["error"]["message"]
        anonymous = await stack.http.post("/api/v1/authorize", json=ask())
        assert anonymous.status_code == 401
        bad = await stack.call("POST", "/authorize", REQUESTER, json=ask(access="delete"))
        assert bad.status_code == 422
        assert "access" in bad.text
        unknown = await stack.call("POST", "/authorize", REQUESTER, json=ask(system="nope-nope"))
        assert unknown.status_code == 404


async def test_stale_snapshot_fails_closed_for_production(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A snapshot not confirmed current within the bound denies a production system."""
    settings = fast(
        settings_for(database_url, tmp_path),
        authorize_poll_seconds=1.0,
        authorize_stale_seconds=0.000001,
    )
    async with running_stack(dev_env.client, settings) as stack:
        await in_production(stack)

        async def stale() -> bool:
            answer = await authorize(stack)
            return bool(answer["decision"] == "deny" and "snapshot_stale" in answer["codes"])

        assert await eventually(stale)
        answer = await authorize(stack)
        assert "authorization snapshot stale" in answer["reasons"][0]


async def threshold(url: str, token: str, *args: str) -> tuple[int, str]:
    """Run the `threshold` CLI against `url`; its exit code and output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        "--url",
        url,
        *args,
        env={**os.environ, "THRESHOLD_TOKEN": token},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


async def test_cli_authorize_exit_codes(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """`threshold authorize` exits 0 on allow, 1 on deny naming the scope, 4 on require_approval."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        assert stack.app is not None
        token = stack.tokens[REQUESTER]
        async with serve_api(stack.app, lifespan="off") as url:
            base = ("authorize", SYSTEM, "--credential", CREDENTIAL)

            async def allowed() -> bool:
                code, _ = await threshold(url, token, *base, "--tool", "search_kb")
                return code == 0

            assert await eventually(allowed, timeout=30)
            code, out = await threshold(url, token, *base, "--tool", "search_kb")
            assert code == 0 and "allow" in out
            code, out = await threshold(url, token, *base, "--tool", "drop_db", "--access", "write")
            assert code == 1 and "tool drop_db is not approved" in out and "v" in out
            code, out = await threshold(
                url, token, *base, "--tool", "search_kb", "--action", "send reply to customer"
            )
            assert code == 4 and f"approval {SYSTEM}-" in out and "threshold approve" in out
            approval_id = out.split(" open until", 1)[0].rsplit(" ", 1)[1]
            code, out = await threshold(url, token, "await-approval", approval_id, "--wait", "0")
            assert code == 4 and "awaits business_owner" in out
            code, out = await threshold(url, stack.tokens[BUSINESS], "approve", approval_id)
            assert code == 0, out
            code, out = await threshold(url, token, "await-approval", approval_id, "--wait", "20")
            assert code == 0 and f"approved by {BUSINESS}" in out, out


async def test_governed_decorator_runs_allowed_tools_and_raises_on_deny(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A `@governed` tool runs when allowed, never runs when denied, and waits for an approval."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        assert stack.app is not None
        async with serve_api(stack.app, lifespan="off") as url:
            gov = Governor(url, stack.tokens[REQUESTER], system=SYSTEM, credential_id=CREDENTIAL)
            ran: list[str] = []

            @gov.governed(tool="search_kb", access="read", target="kb.articles")
            def search_kb() -> str:
                ran.append("search_kb")
                return "found"

            @gov.governed(tool="update_ticket", access="write", target="crm.tickets")
            def update_ticket() -> str:
                ran.append("update_ticket")
                return "written"

            async def allowed() -> bool:
                try:
                    return await asyncio.to_thread(search_kb) == "found"
                except ActionDenied:
                    return False

            assert await eventually(allowed)
            with pytest.raises(ActionDenied, match="tool update_ticket is not approved"):
                await asyncio.to_thread(update_ticket)
            assert "update_ticket" not in ran

            @gov.governed(tool="search_kb", access="read", action="send reply to customer")
            def send_reply() -> str:
                return "sent"

            waiting = asyncio.ensure_future(asyncio.to_thread(send_reply))

            assert await eventually(lambda: approve_pending_action(stack))
            assert await waiting == "sent"
