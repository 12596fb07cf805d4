"""A revalidation nobody decides expires; production stays on the approved scope."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.e2e.test_promotion_tour import eventually
from tests.e2e.test_scope_changes import SYSTEM, cloudevent, gate, in_production, send
from tests.harness import REQUESTER, make_settings, running_stack


async def test_expired_revalidation_keeps_the_approved_scope_and_names_the_rollback(
    ts_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """After a week undecided the revalidation expires: production keeps the approved scope,
    the declared gate stays denied and says what to roll back."""
    settings = make_settings(f"sqlite:///{tmp_path}/threshold.db", tmp_path)
    async with running_stack(ts_env.client, settings) as stack:
        await in_production(stack)
        sent = await send(stack, cloudevent({"add_tools": ["refund"]}))
        request_id = sent.json()["request_id"]
        await ts_env.sleep(timedelta(hours=169))

        async def back_in_production() -> bool:
            shown = await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)
            return bool(shown.json()["state"] == "production")

        assert await eventually(back_in_production)
        shown = (await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)).json()
        assert shown["last_reason"].startswith(f"{request_id} expired")
        assert shown["approved_manifest"]["capabilities"]["tools"] == ["search_kb"]
        assert (await gate(stack))["allowed"] is True
        declared = await gate(stack, "declared")
        assert declared["allowed"] is False
        assert "roll back: new tool: refund" in declared["reasons"][0]
