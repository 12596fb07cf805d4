"""Concurrent commands on one system are serialised: no request outlives its system."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.e2e.test_credentials_actions import ADMIN, SYSTEM, settings_for
from tests.e2e.test_promotion_tour import eventually
from tests.e2e.test_scope_changes import NEW_WRITE, cloudevent, in_production, send
from tests.harness import BUSINESS, REQUESTER, SECURITY, TECH, Stack, running_stack

pytestmark = pytest.mark.devserver


async def contained(stack: Stack) -> None:
    """Contain the production system and wait until its credential is revoked."""
    body = {"reason": "key seen in a log"}
    answer = await stack.call("POST", f"/systems/{SYSTEM}/contain", ADMIN, json=body)
    assert answer.status_code == 200, answer.text

    async def revoked() -> bool:
        shown = (await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)).json()
        return set(shown["revocations"].values()) == {"confirmed"}

    assert await eventually(revoked)


async def test_release_and_retire_sent_together_leave_no_request_behind(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A release and a retire sent at once: exactly one is applied; a retired system has no
    pending request, and a release that won can be approved to production."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        await contained(stack)
        release, retire = await asyncio.gather(
            stack.call("POST", f"/systems/{SYSTEM}/release", REQUESTER, json={}),
            stack.call("POST", f"/systems/{SYSTEM}/retire", ADMIN, json={"reason": "done"}),
        )
        codes = sorted([release.status_code, retire.status_code])
        assert codes in ([200, 409], [202, 409]), (release.text, retire.text)
        shown = (await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)).json()
        if retire.status_code == 200:
            refusal = release.json()["error"]["message"]
            assert "retir" in refusal or "closed" in refusal, refusal
            assert shown["state"] == "retired" and shown["pending_request"] is None
            return
        assert "pending" in retire.json()["error"]["message"]
        request_id = release.json()["system"]["pending_request"]["id"]
        for who in (SECURITY, BUSINESS, TECH):
            decided = await stack.call(
                "POST", f"/requests/{request_id}/decisions", who, json={"approve": True}
            )
            assert decided.status_code == 200, decided.text
        assert decided.json()["system"]["state"] == "production"


async def test_a_withdrawn_request_says_why_and_can_never_be_approved(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """Containing a system withdraws its open revalidation, saying it was contained (not
    superseded); a decision on it afterwards is refused and changes nothing."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        sent = await send(stack, cloudevent(NEW_WRITE))
        request_id = sent.json()["request_id"]
        await contained(stack)

        async def withdrawn() -> dict[str, object] | None:
            shown = (await stack.call("GET", f"/requests/{request_id}", REQUESTER)).json()
            return shown if shown.get("status") == "withdrawn" else None

        request = await eventually(withdrawn)
        assert "contained" in str(request["reason"])
        assert "superseded" not in str(request["reason"])
        late = await stack.call(
            "POST", f"/requests/{request_id}/decisions", SECURITY, json={"approve": True}
        )
        assert late.status_code == 409, late.text
        shown = (await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)).json()
        assert shown["state"] == "contained" and shown["pending_request"] is None


async def test_a_retried_decision_is_answered_as_a_duplicate_not_a_conflict(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """An approver whose client retries without a key (even after the request closed) is told
    their decision already counts; a contrary second decision is still refused."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        shown = (await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)).json()
        request_id = shown["request_ids"][0]
        again = await stack.call(
            "POST", f"/requests/{request_id}/decisions", SECURITY, json={"approve": True}
        )
        assert again.status_code == 200, again.text
        assert again.json()["duplicate"] is True
        assert "already approved" in again.json()["message"]
        contrary = await stack.call(
            "POST",
            f"/requests/{request_id}/decisions",
            SECURITY,
            json={"approve": False, "comment": "changed my mind"},
        )
        assert contrary.status_code == 409, contrary.text
