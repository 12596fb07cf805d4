"""Record workflow histories for the replay tests: run the tour on a dev server, save each history.

Run: .venv/bin/python -m tests.histories.record   (rewrites tests/histories/*.json)
Only the scope-change tour: .venv/bin/python -m tests.histories.record scope
Only the recertification tour: .venv/bin/python -m tests.histories.record recert
Others: containment, exceptions, actions (just-in-time action approvals), dormancy
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from core.temporal import venv_binary
from tests.e2e.test_promotion_tour import register_and_request
from tests.e2e.test_scope_changes import MODEL, cloudevent, in_production, send
from tests.harness import BUSINESS, REQUESTER, SECURITY, TECH, make_settings, running_stack

OUT = Path(__file__).resolve().parent
ADMIN = "admin@threshold.local"


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


async def record_scope_changes() -> None:
    """A production system takes scope changes (re-sent, folded, immaterial, approved,
    rejected) and retires; save its history and the folded request's."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(venv_binary("temporal-test-server")),
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(f"sqlite:///{tmp}/r.db", Path(tmp), workflow_id_prefix="")
        async with running_stack(env.client, settings) as stack:
            await in_production(stack)
            write = cloudevent({"add_write": ["crm.accounts"]})
            folded = (await send(stack, write)).json()["request_id"]
            await send(stack, write)  # re-sent: acknowledged, not applied again
            tool = (await send(stack, cloudevent({"add_tools": ["send_email"]}))).json()
            version = {"provider": "anthropic", "name": "claude-sonnet", "version": "2026-11"}
            await send(stack, cloudevent(version, MODEL))
            for who in (TECH, SECURITY):
                await stack.call(
                    "POST",
                    f"/requests/{tool['request_id']}/decisions",
                    who,
                    json={"approve": True},
                )
            more = (await send(stack, cloudevent({"autonomy": "autonomous"}))).json()
            await stack.call(
                "POST",
                f"/requests/{more['request_id']}/decisions",
                SECURITY,
                json={"approve": False, "comment": "not without a human"},
            )
            await send(stack, cloudevent({"autonomy": "human_in_the_loop"}))
            await stack.call(
                "POST",
                "/systems/support-assistant/retire",
                "admin@threshold.local",
                json={"reason": "recorded for replay"},
            )
            await asyncio.sleep(1)
            saved = {
                "ai-system:support-assistant": "ai-system--scope-changes",
                f"approval:{folded}": "approval--scope-changes-folded",
            }
            for workflow_id, name in saved.items():
                history = await env.client.get_workflow_handle(workflow_id).fetch_history()
                (OUT / f"{name}.json").write_text(history.to_json())
                print("recorded", name, len(history.events), "events")
    await env.shutdown()


async def record_recertification() -> None:
    """A high-risk system is reminded, misses a recertification, is recertified, retires."""
    from tests.workflows.test_recertification_year import high_risk, recertify_by_all, to_production

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(venv_binary("temporal-test-server")),
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(f"sqlite:///{tmp}/r.db", Path(tmp), workflow_id_prefix="")
        async with running_stack(env.client, settings) as stack:
            await to_production(stack, high_risk())
            await env.sleep(timedelta(days=99))
            await asyncio.sleep(2)
            await recertify_by_all(stack)
            await asyncio.sleep(2)
            await stack.call(
                "POST",
                "/systems/support-assistant/retire",
                "admin@threshold.local",
                json={"reason": "recorded for replay"},
            )
            await asyncio.sleep(1)
            history = await env.client.get_workflow_handle(
                "ai-system:support-assistant"
            ).fetch_history()
            (OUT / "ai-system--recertification.json").write_text(history.to_json())
            print("recorded ai-system--recertification", len(history.events), "events")
    await env.shutdown()


async def _save(env: WorkflowEnvironment, saved: dict[str, str]) -> None:
    """Write each workflow's history under its recording name."""
    for workflow_id, name in saved.items():
        history = await env.client.get_workflow_handle(workflow_id).fetch_history()
        (OUT / f"{name}.json").write_text(history.to_json())
        print("recorded", name, len(history.events), "events")


async def record_containment() -> None:
    """A finding opens a revalidation, containment withdraws it and revokes the credential,
    the release is approved back to production, and retirement revokes again and retires."""
    from tests.e2e.test_credentials_actions import action, post_actions

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(venv_binary("temporal-test-server")),
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(f"sqlite:///{tmp}/r.db", Path(tmp), workflow_id_prefix="")
        async with running_stack(env.client, settings) as stack:
            await in_production(stack)
            await post_actions(stack, [action(tool="delete_account", target="crm.accounts")])
            await asyncio.sleep(2)
            shown = (await stack.call("GET", "/systems/support-assistant", REQUESTER)).json()
            finding = (shown.get("pending_request") or {}).get("id")
            body = {"reason": "recorded for replay"}
            await stack.call("POST", "/systems/support-assistant/contain", ADMIN, json=body)
            await asyncio.sleep(2)
            released = await stack.call(
                "POST", "/systems/support-assistant/release", REQUESTER, json={}
            )
            release = released.json()["system"]["pending_request"]["id"]
            for who in (SECURITY, BUSINESS, TECH):
                await stack.call(
                    "POST", f"/requests/{release}/decisions", who, json={"approve": True}
                )
            await stack.call("POST", "/systems/support-assistant/retire", ADMIN, json=body)
            await asyncio.sleep(3)
            saved = {
                "ai-system:support-assistant": "ai-system--containment",
                f"approval:{release}": "approval--release",
            }
            if finding:
                saved[f"approval:{finding}"] = "approval--finding-withdrawn"
            await _save(env, saved)
    await env.shutdown()


async def record_exceptions() -> None:
    """An exception is requested and granted, promotion passes the waived gap, a policy is
    applied, the exception is revoked and the system retires."""
    from datetime import UTC, datetime

    from tests.e2e.test_promotion_tour import manifest

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(venv_binary("temporal-test-server")),
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(f"sqlite:///{tmp}/r.db", Path(tmp), workflow_id_prefix="")
        async with running_stack(env.client, settings) as stack:
            data = manifest("support-assistant")
            data["logging"] = None
            await stack.call("POST", "/systems", REQUESTER, json=data)
            until = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
            asked = await stack.call(
                "POST",
                "/systems/support-assistant/exceptions",
                REQUESTER,
                json={"gap": "no_logging_policy", "until": until.isoformat(), "reason": "vendor"},
            )
            waiver = asked.json()["system"]["exceptions"][0]["request_id"]
            await stack.call(
                "POST", f"/requests/{waiver}/decisions", SECURITY, json={"approve": True}
            )
            await asyncio.sleep(2)
            promoted = await stack.call(
                "POST", "/systems/support-assistant/promotion", REQUESTER, json={}
            )
            request = promoted.json()["system"]["pending_request"]["id"]
            for who in (BUSINESS, TECH, SECURITY):
                await stack.call(
                    "POST", f"/requests/{request}/decisions", who, json={"approve": True}
                )
            await stack.call("POST", "/policy/apply", ADMIN)
            await stack.call(
                "POST",
                f"/systems/support-assistant/exceptions/{waiver}/revoke",
                SECURITY,
                json={"reason": "recorded for replay"},
            )
            await stack.call(
                "POST", "/systems/support-assistant/retire", ADMIN, json={"reason": "recorded"}
            )
            await asyncio.sleep(3)
            await _save(
                env,
                {
                    "ai-system:support-assistant": "ai-system--exceptions",
                    f"approval:{waiver}": "approval--exception",
                },
            )
    await env.shutdown()


async def record_action_approvals() -> None:
    """A runtime asks for an action under human approval: one approval is granted by the
    business owner, another is withdrawn by containment; the system retires."""
    from tests.e2e.test_authorize import ask
    from tests.e2e.test_promotion_tour import eventually

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(venv_binary("temporal-test-server")),
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(f"sqlite:///{tmp}/r.db", Path(tmp), workflow_id_prefix="")
        async with running_stack(env.client, settings) as stack:
            await in_production(stack)
            body = ask(action="send reply to customer", credential_id=None)

            async def asked() -> str | None:
                answer = await stack.call("POST", "/authorize", REQUESTER, json=body)
                found: str | None = answer.json().get("approval_id")
                return found

            granted = await eventually(asked)
            await stack.call(
                "POST", f"/requests/{granted}/decisions", BUSINESS, json={"approve": True}
            )
            withdrawn = await asked()
            reason = {"reason": "recorded for replay"}
            await stack.call("POST", "/systems/support-assistant/contain", ADMIN, json=reason)
            await asyncio.sleep(2)
            await stack.call("POST", "/systems/support-assistant/retire", ADMIN, json=reason)
            await asyncio.sleep(3)
            await _save(
                env,
                {
                    "ai-system:support-assistant": "ai-system--action-approvals",
                    f"approval:{granted}": "approval--action-granted",
                    f"approval:{withdrawn}": "approval--action-withdrawn",
                },
            )
    await env.shutdown()


async def record_dormancy() -> None:
    """A production credential idle for 40 days is swept twice (one review), acts again (the
    episode ends) and the system retires; save its history and the sweep's first run."""
    from datetime import UTC, datetime

    from tests.e2e.test_credentials_actions import action, post_actions
    from worker import start_dormancy_sweep

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(venv_binary("temporal-test-server")),
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(f"sqlite:///{tmp}/r.db", Path(tmp), workflow_id_prefix="")
        async with running_stack(env.client, settings) as stack:
            await in_production(stack)
            old = datetime.now(UTC) - timedelta(days=40)
            await post_actions(stack, [action(time=old.isoformat())])
            sweep = await start_dormancy_sweep(stack.client, settings)
            await asyncio.sleep(3)
            await env.sleep(timedelta(hours=25))
            await asyncio.sleep(2)
            await post_actions(stack, [action(time=datetime.now(UTC).isoformat())])
            await env.sleep(timedelta(hours=24))
            await asyncio.sleep(2)
            await stack.call(
                "POST", "/systems/support-assistant/retire", ADMIN, json={"reason": "recorded"}
            )
            await asyncio.sleep(3)
            first = env.client.get_workflow_handle(sweep.id, run_id=sweep.first_execution_run_id)
            history = await first.fetch_history()
            (OUT / "dormancy-sweep.json").write_text(history.to_json())
            print("recorded dormancy-sweep", len(history.events), "events")
            await _save(env, {"ai-system:support-assistant": "ai-system--dormancy"})
            await sweep.terminate("recorded")
    await env.shutdown()


async def record_all() -> None:
    """Every tour."""
    await record()
    await record_scope_changes()
    await record_recertification()
    await record_containment()
    await record_exceptions()
    await record_action_approvals()
    await record_dormancy()


TOURS = {
    "scope": record_scope_changes,
    "recert": record_recertification,
    "containment": record_containment,
    "exceptions": record_exceptions,
    "actions": record_action_approvals,
    "dormancy": record_dormancy,
}

if __name__ == "__main__":
    asyncio.run(TOURS[sys.argv[1]]() if sys.argv[1:] else record_all())
    os._exit(0)
