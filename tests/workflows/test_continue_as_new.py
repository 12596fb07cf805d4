"""Histories stay bounded: the system workflow continues as new and keeps its state and dedup."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.e2e.test_promotion_tour import manifest as example
from tests.harness import REQUESTER, make_settings, running_stack


async def test_many_commands_cross_continue_as_new_without_losing_anything(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Thirty amendments cross continue-as-new; state, audit and command dedup all survive."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path, max_history_events=60)
    manifest = example("support-assistant")
    async with running_stack(dev_env.client, settings) as stack:
        created = await stack.call("POST", "/systems", REQUESTER, json=manifest)
        assert created.status_code == 201, created.text
        handle = dev_env.client.get_workflow_handle(stack.workflow_id("support-assistant"))
        first_run = (await handle.describe()).run_id
        for n in range(30):
            body = manifest | {"description": f"revision {n}"}
            amended = await stack.call(
                "PUT",
                "/systems/support-assistant/manifest",
                REQUESTER,
                json=body,
                headers={"Idempotency-Key": f"amend-{n}"},
            )
            assert amended.status_code == 200, amended.text
        described = await handle.describe()
        length = described.raw_description.workflow_execution_info.history_length
        assert described.run_id != first_run, f"no continue-as-new after {length} events"

        again = await stack.call(
            "PUT",
            "/systems/support-assistant/manifest",
            REQUESTER,
            json=manifest | {"description": "revision 0"},
            headers={"Idempotency-Key": "amend-0"},
        )
        assert again.status_code == 200
        shown = (await stack.call("GET", "/systems/support-assistant", REQUESTER)).json()
        assert shown["manifest"]["description"] == "revision 29"
        events = await stack.call(
            "GET", "/audit/events?system=support-assistant&limit=1000", REQUESTER
        )
        amendments = [e for e in events.json() if e["action"] == "manifest_amended"]
        assert len(amendments) == 30
        verified = await stack.call("GET", "/audit/verify", REQUESTER)
        assert verified.json()["ok"] is True
