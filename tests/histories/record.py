"""Record workflow histories for the replay tests: run the tour on a dev server, save each history.

Run: .venv/bin/python -m tests.histories.record   (rewrites tests/histories/*.json)
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import timedelta
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from core.temporal import venv_binary
from tests.e2e.test_promotion_tour import register_and_request
from tests.harness import BUSINESS, REQUESTER, SECURITY, TECH, make_settings, running_stack

OUT = Path(__file__).resolve().parent


async def record() -> None:
    """Promote one system (approved) and let one request expire; save the histories."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(venv_binary("temporal-test-server")),
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(f"sqlite:///{tmp}/r.db", Path(tmp), workflow_id_prefix="")
        async with running_stack(env.client, settings) as stack:
            request_id = await register_and_request(stack)
            await stack.call(
                "POST", f"/requests/{request_id}/decisions", BUSINESS, json={"approve": True}
            )
            await env.sleep(timedelta(hours=49))
            for who in (TECH, SECURITY):
                await stack.call(
                    "POST", f"/requests/{request_id}/decisions", who, json={"approve": True}
                )
            await stack.call(
                "POST",
                "/systems/support-assistant/retire",
                "admin@threshold.local",
                json={"reason": "recorded for replay"},
            )
            await asyncio.sleep(1)
            for workflow_id in ("ai-system:support-assistant", f"approval:{request_id}"):
                history = await env.client.get_workflow_handle(workflow_id).fetch_history()
                name = workflow_id.replace(":", "--")
                (OUT / f"{name}.json").write_text(history.to_json())
                print("recorded", name, len(history.events), "events", REQUESTER and "")
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record())
    os._exit(0)
