"""Scope-change events end to end: HTTP API and CLI on the Temporal dev server."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli import client as cli_client
from cli.main import app as cli_app
from tests.e2e.test_promotion_tour import eventually, manifest, register_and_request
from tests.harness import (
    BUSINESS,
    REQUESTER,
    ROOT,
    SECURITY,
    TECH,
    Stack,
    make_settings,
    running_stack,
)

pytestmark = pytest.mark.devserver

SYSTEM = "support-assistant"
SCOPE = "dev.threshold.scope.changed"
MODEL = "dev.threshold.model.changed"
CE_JSON = {"Content-Type": "application/cloudevents+json"}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}


def cloudevent(
    data: dict[str, Any], kind: str = SCOPE, subject: str = SYSTEM, **attrs: Any
) -> dict[str, Any]:
    """A structured-mode CloudEvent with a fresh id unless one is given."""
    return {
        "specversion": "1.0",
        "type": kind,
        "source": "/ci/deploy",
        "id": uuid.uuid4().hex,
        "subject": subject,
        "data": data,
        **attrs,
    }


async def send(stack: Stack, event: dict[str, Any], who: str = REQUESTER) -> httpx.Response:
    """POST one event as `who` (an emitter by default)."""
    return await stack.call("POST", "/events", who, json=event, headers=CE_JSON)


async def in_production(stack: Stack) -> None:
    """Register the support assistant and have it promoted by its three approvers."""
    request_id = await register_and_request(stack)
    for who in (BUSINESS, TECH, SECURITY):
        decided = await stack.call(
            "POST", f"/requests/{request_id}/decisions", who, json={"approve": True}
        )
        assert decided.status_code == 200, decided.text
    shown = await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)
    assert shown.json()["state"] == "production"


async def gate(stack: Stack, scope: str = "approved") -> dict[str, Any]:
    """The production gate for the approved or the declared scope."""
    path = f"/systems/{SYSTEM}/gate?environment=production&scope={scope}"
    response = await stack.call("GET", path, REQUESTER)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def audit_actions(stack: Stack) -> list[str]:
    """The audit actions recorded for the support assistant, in order."""
    events = await stack.call("GET", f"/audit/events?system={SYSTEM}", REQUESTER)
    return [e["action"] for e in events.json()]


async def decide(stack: Stack, request_id: str, who: str, **body: Any) -> httpx.Response:
    """One decision on a request."""
    return await stack.call(
        "POST", f"/requests/{request_id}/decisions", who, json={"approve": True, **body}
    )


NEW_WRITE = {"add_write": ["crm.accounts"], "add_tools": ["send_email"]}


async def test_resent_event_is_acknowledged_and_applied_once(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """The same source and id sent twice opens one revalidation; the second answer says duplicate."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        await in_production(stack)
        event = cloudevent(NEW_WRITE)
        first = await send(stack, event)
        again = await send(stack, event)
        assert first.status_code == again.status_code == 200, again.text
        assert first.json()["duplicate"] is False
        assert again.json()["duplicate"] is True
        assert again.json()["request_id"] == first.json()["request_id"]
        shown = (await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)).json()
        assert len(shown["request_ids"]) == 2  # the promotion and one revalidation
        assert shown["manifest"]["capabilities"]["write_targets"] == ["crm.accounts"]

        async def assessed_once() -> bool:
            return (await audit_actions(stack)).count("scope_change_assessed") == 1

        assert await eventually(assessed_once)


async def test_material_change_keeps_approved_scope_until_revalidated(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """New write access and a tool open a revalidation by technical owner and security; the
    gate allows the approved scope and denies the declared one until both approve."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        await in_production(stack)
        sent = await send(stack, cloudevent(NEW_WRITE))
        assert sent.status_code == 200, sent.text
        body = sent.json()
        assert body["material"] is True
        assert body["state"] == "revalidation_pending"
        assert body["assessment"]["revalidate_roles"] == ["technical_owner", "security"]
        assert body["message"] == (
            "material change (new write access: crm.accounts; new tool: send_email): revalidation "
            f"{body['request_id']} awaits technical_owner, security; the approved scope stays in force"
        )
        request_id = body["request_id"]
        request = (await stack.call("GET", f"/requests/{request_id}", REQUESTER)).json()
        assert request["kind"] == "revalidation"
        assert request["change"] == ["new write access: crm.accounts", "new tool: send_email"]

        approved = await gate(stack)
        assert approved["allowed"] is True
        assert "awaits revalidation" in approved["reasons"][1]
        declared = await gate(stack, "declared")
        assert declared["allowed"] is False
        assert "new write access: crm.accounts" in declared["reasons"][0]

        refused = await decide(stack, request_id, BUSINESS)
        assert refused.status_code == 403, refused.text  # business owner is not required here
        assert (await decide(stack, request_id, TECH)).status_code == 200
        assert (await gate(stack, "declared"))["allowed"] is False
        closing = await decide(stack, request_id, SECURITY)
        assert closing.json()["request"]["status"] == "approved"

        shown = (await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)).json()
        assert shown["state"] == "production"
        assert shown["approved_manifest"]["capabilities"]["tools"] == ["search_kb", "send_email"]
        assert shown["change"] is None
        assert (await gate(stack, "declared"))["allowed"] is True

        async def approved_audited() -> bool:
            return "revalidation_approved" in await audit_actions(stack)

        assert await eventually(approved_audited)


async def test_rejected_change_keeps_approved_scope_and_names_the_rollback(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A rejection leaves production on the approved scope and the declared gate says what to undo."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        await in_production(stack)
        sent = await send(stack, cloudevent({"add_write": ["crm.accounts"]}))
        request_id = sent.json()["request_id"]
        rejected = await decide(stack, request_id, SECURITY, approve=False, comment="no writes")
        assert rejected.json()["request"]["status"] == "rejected"

        shown = (await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)).json()
        assert shown["state"] == "production"
        assert shown["approved_manifest"]["capabilities"]["write_targets"] == []
        assert "roll back: new write access: crm.accounts" in shown["last_reason"]
        assert (await gate(stack))["allowed"] is True
        declared = await gate(stack, "declared")
        assert declared["allowed"] is False
        assert "roll back: new write access: crm.accounts" in declared["reasons"][0]

        undone = await send(stack, cloudevent({"remove_write": ["crm.accounts"]}))
        assert undone.json()["material"] is False
        assert (await gate(stack, "declared"))["allowed"] is True


async def test_suspend_policy_closes_production_until_revalidated(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """With `on_material_change: suspend` a material change denies production entirely."""
    policy = yaml.safe_load((ROOT / "policy.yaml").read_text())
    policy["changes"]["on_material_change"] = "suspend"
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(policy))
    settings = make_settings(database_url, tmp_path).model_copy(update={"policy_file": policy_file})
    async with running_stack(dev_env.client, settings) as stack:
        await in_production(stack)
        sent = await send(stack, cloudevent({"autonomy": "autonomous"}))
        assert sent.json()["assessment"]["action"] == "suspend"
        assert sent.json()["assessment"]["revalidate_roles"] == ["business_owner", "security"]
        approved = await gate(stack)
        assert approved["allowed"] is False
        assert "suspended" in approved["reasons"][0]
        request_id = sent.json()["request_id"]
        for who in (BUSINESS, SECURITY):
            assert (await decide(stack, request_id, who)).status_code == 200
        assert (await gate(stack))["allowed"] is True


async def test_batch_gives_each_item_its_own_result(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A batch applies its good items; a malformed item (named field) and an unknown system
    apply nothing and get their own 422 and 404."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        await in_production(stack)
        bad = cloudevent({"add_write": ["crm.notes"]})
        del bad["id"]
        items = [
            cloudevent(
                {"provider": "anthropic", "name": "claude-sonnet", "version": "2026-11"}, MODEL
            ),
            bad,
            cloudevent({"add_tools": ["x"]}, subject="no-such-system"),
            cloudevent({"autonomy": "wild"}),
        ]
        response = await stack.call("POST", "/events", REQUESTER, json=items, headers=BATCH)
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert [r["status"] for r in results] == [200, 422, 404, 422]
        assert response.json()["applied"] == 1
        assert [p["field"] for p in results[1]["problems"]] == ["id"]
        assert results[3]["problems"][0]["field"] == "data.autonomy"
        assert results[0]["material"] is False  # a model version bump is only recorded

        shown = (await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)).json()
        assert shown["state"] == "production"
        assert shown["approved_manifest"]["model"]["version"] == "2026-11"
        assert shown["manifest"]["capabilities"]["write_targets"] == []
        assert shown["manifest"]["autonomy"] == "human_in_the_loop"


async def test_malformed_single_event_names_the_field(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A single malformed event is refused with 422 naming the field; an unknown system is 404."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        await in_production(stack)
        bad = await send(stack, cloudevent({"add_write": "crm.accounts"}))
        assert bad.status_code == 422
        assert bad.json()["error"]["problems"][0]["field"] == "data.add_write"
        missing = await send(stack, cloudevent({"add_write": ["x"]}, subject="no-such-system"))
        assert missing.status_code == 404
        plain = await stack.call(
            "POST", "/events", REQUESTER, json=cloudevent({"remove_write": ["nothing"]})
        )
        assert plain.status_code == 422
        assert plain.json()["error"]["problems"][0]["field"] == "data.remove_write[0]"
        viewer = await send(stack, cloudevent({"add_write": ["x"]}), who="viewer@example.com")
        assert viewer.status_code == 403
        array = await send(stack, [cloudevent({"add_write": ["x"]})])  # type: ignore[arg-type]
        assert array.status_code == 422
        assert array.json()["error"]["problems"][0]["field"] == "content-type"
        binary = await stack.call(
            "POST", "/events", REQUESTER, content=b"x", headers={"Content-Type": "text/plain"}
        )
        assert binary.status_code == 415
        assert binary.json()["error"]["problems"][0]["field"] == "content-type"


async def test_changes_while_pending_fold_into_one_request(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A second material change re-assesses and replaces the open request; an immaterial one
    leaves it as it is; approving the survivor approves every change."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        await in_production(stack)
        first = (await send(stack, cloudevent({"add_write": ["crm.accounts"]}))).json()
        second = (await send(stack, cloudevent({"data_classification": "regulated"}))).json()
        assert second["request_id"] != first["request_id"]
        assert second["assessment"]["revalidate_roles"] == [
            "technical_owner",
            "security",
            "privacy",
        ]
        request = (await stack.call("GET", f"/requests/{second['request_id']}", REQUESTER)).json()
        assert request["change"] == [
            "new write access: crm.accounts",
            "now regulated: confidential → regulated",
        ]
        model = {"provider": "anthropic", "name": "claude-sonnet", "version": "2026-11"}
        third = (await send(stack, cloudevent(model, MODEL))).json()
        assert third["request_id"] == second["request_id"]

        async def one_pending() -> bool:
            listed = await stack.call("GET", f"/requests?system={SYSTEM}&status=pending", REQUESTER)
            return [r["id"] for r in listed.json()["items"]] == [second["request_id"]]

        async def first_withdrawn() -> bool:
            shown = await stack.call("GET", f"/requests/{first['request_id']}", REQUESTER)
            return bool(shown.json()["status"] == "withdrawn")

        assert await eventually(first_withdrawn)
        # The withdrawn row lands once its ticket and Slack messages are closed too.
        assert await eventually(one_pending, timeout=30)
        stack.token("pat.privacy@example.com", "approver")
        for who in (TECH, SECURITY, "pat.privacy@example.com"):
            assert (await decide(stack, second["request_id"], who)).status_code == 200
        shown = (await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)).json()
        assert shown["approved_manifest"]["data_classification"] == "regulated"
        assert shown["approved_manifest"]["model"]["version"] == "2026-11"
        assert (await gate(stack, "declared"))["allowed"] is True


async def test_pilot_change_flags_production_governance(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A synthetic-data pilot that gains write access stays exempt; once it takes real data
    its requirements are recomputed and it is told production governance applies."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        created = await stack.call(
            "POST", "/systems", REQUESTER, json=manifest("internal-summariser")
        )
        assert created.status_code == 201, created.text
        system_id = created.json()["system"]["system_id"]
        assert created.json()["system"]["requirements"]["applies"] is False
        write = await send(stack, cloudevent({"add_write": ["wiki.pages"]}, subject=system_id))
        assert write.status_code == 200, write.text
        assert write.json()["system"]["requirements"]["applies"] is False
        assert "governance" not in write.json()["message"]
        sent = await send(stack, cloudevent({"synthetic_data_only": False}, subject=system_id))
        assert sent.status_code == 200, sent.text
        assert "production governance now applies" in sent.json()["message"]
        system = sent.json()["system"]
        assert system["state"] == "pilot"
        assert system["requirements"]["applies"] is True
        assert "write_access" in [t["code"] for t in system["requirements"]["triggers"]]


async def test_pending_promotion_refuses_changes_but_acknowledges_no_change(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """While promotion awaits approval a change is refused (409) and changes nothing; the
    manifest under review declared again is acknowledged as no change."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        request_id = await register_and_request(stack)
        refused = await send(stack, cloudevent({"add_write": ["crm.accounts"]}))
        assert refused.status_code == 409, refused.text
        assert f"decide request {request_id} first" in refused.json()["error"]["message"]
        same = cloudevent({"manifest": manifest(SYSTEM)}, kind="dev.threshold.manifest.declared")
        unchanged = await send(stack, same)
        assert unchanged.status_code == 200, unchanged.text
        assert unchanged.json()["message"] == f"no change to the declared scope of {SYSTEM}"
        shown = (await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)).json()
        assert shown["state"] == "promotion_pending"
        assert shown["manifest"]["capabilities"]["write_targets"] == []


class AppBridge(httpx.BaseTransport):
    """A synchronous transport for the CLI (run in a thread) onto the stack's ASGI client."""

    def __init__(self, stack: Stack, loop: asyncio.AbstractEventLoop) -> None:
        self.stack, self.loop = stack, loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request through the in-process app on the test's event loop."""
        future = asyncio.run_coroutine_threadsafe(self._send(request), self.loop)
        return future.result(timeout=30)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self.stack.http.request(
            request.method,
            request.url.raw_path.decode(),
            headers=dict(request.headers),
            content=request.read(),
        )
        return httpx.Response(
            response.status_code, headers=response.headers, content=response.content
        )


async def test_deploy_check_exit_codes(
    dev_env: WorkflowEnvironment,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """deploy-check exits 0 for the approved manifest, 1 while a widened one awaits approval,
    2 for a manifest with an invalid field."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        await in_production(stack)
        monkeypatch.setattr(cli_client, "TRANSPORT", AppBridge(stack, asyncio.get_running_loop()))
        runner = CliRunner()

        async def deploy_check(data: dict[str, Any]) -> Any:
            path = tmp_path / f"{uuid.uuid4().hex}.yaml"
            path.write_text(yaml.safe_dump(data))
            args = ["--token", stack.tokens[REQUESTER], "deploy-check", "--manifest", str(path)]
            return await asyncio.to_thread(runner.invoke, cli_app, args)

        same: dict[str, Any] = manifest(SYSTEM) | {"environment": "production"}
        result = await deploy_check(same)
        assert result.exit_code == 0, result.output
        assert "ALLOWED" in result.output
        widened = same | {
            "capabilities": {**same["capabilities"], "write_targets": ["crm.accounts"]}
        }
        result = await deploy_check(widened)
        assert result.exit_code == 1, result.output
        assert "new write access: crm.accounts" in result.output
        result = await deploy_check(same | {"autonomy": "reckless"})
        assert result.exit_code == 2, result.output
        assert "data.manifest.autonomy" in result.output
        result = await deploy_check(same)  # rolled back in the repository: approved scope again
        assert result.exit_code == 0, result.output
