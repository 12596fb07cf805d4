"""Credentials, the action ledger and containment end to end: HTTP API on the dev server."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment

from core.settings import RevokerSettings, Settings, SlackSettings
from db.engine import get_engine
from integrations.revoker import RecordingRevoker
from tests.e2e.test_promotion_tour import eventually, manifest
from tests.e2e.test_scope_changes import in_production
from tests.emulators.slack import SlackEmulator
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
CREDENTIAL = "support-assistant-crm-reader"
ADMIN = "admin@threshold.local"


def settings_for(database_url: str, tmp_path: Path, on_finding: str = "revalidate") -> Settings:
    """Settings with a recording revoker and the policy's `actions.on_finding` set."""
    policy = yaml.safe_load((ROOT / "policy.yaml").read_text())
    policy["actions"] = {"on_finding": on_finding}
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(policy))
    settings = make_settings(database_url, tmp_path)
    return settings.model_copy(
        update={
            "policy_file": policy_file,
            "revoker": RevokerSettings(record_file=tmp_path / "revocations.jsonl"),
        }
    )


def action(**fields: Any) -> dict[str, Any]:
    """One action record of the support assistant in production (override any field)."""
    return {
        "system": SYSTEM,
        "environment": "production",
        "time": "2026-11-26T10:00:00Z",
        "kind": "tool_call",
        "tool": "search_kb",
        "target": "kb.articles",
        "credential_id": CREDENTIAL,
        "trace_id": uuid.uuid4().hex,
        "id": uuid.uuid4().hex,
        **fields,
    }


async def post_actions(stack: Stack, records: list[dict[str, Any]]) -> dict[str, Any]:
    """POST a batch of action records as JSON lines; assert it was taken."""
    body = "\n".join(json.dumps(r) for r in records)
    response = await stack.call(
        "POST",
        "/actions",
        REQUESTER,
        content=body,
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def view(stack: Stack) -> dict[str, Any]:
    """The system's live view."""
    shown: dict[str, Any] = (await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)).json()
    return shown


async def audit_actions(stack: Stack) -> list[str]:
    """The audit actions recorded for the system, in order."""
    events = await stack.call("GET", f"/audit/events?system={SYSTEM}&limit=1000", REQUESTER)
    return [e["action"] for e in events.json()]


async def test_pilot_credential_reused_in_production_blocks_promotion(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A pilot credential on a system bound for production and one shared with another system
    block promotion; the gaps carry OWASP NHI ids and show in the gate; a secret is refused."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        other: dict[str, Any] = manifest("support-assistant")
        other["id"] = "support-copilot"
        other["credentials"] = [
            {**other["credentials"][0], "id": "shared-pilot-key", "environment": "pilot"}
        ]
        assert (await stack.call("POST", "/systems", REQUESTER, json=other)).status_code == 201

        async def projected() -> bool:
            listed = await stack.call("GET", "/credentials?system=support-copilot", REQUESTER)
            return bool(listed.json())

        assert await eventually(projected)
        mine: dict[str, Any] = manifest("support-assistant")
        mine["credentials"] = [*mine["credentials"], other["credentials"][0]]
        assert (await stack.call("POST", "/systems", REQUESTER, json=mine)).status_code == 201

        promoted = await stack.call("POST", f"/systems/{SYSTEM}/promotion", REQUESTER, json={})
        assert promoted.status_code == 409, promoted.text
        messages = " ".join(p["message"] for p in promoted.json()["error"]["problems"])
        assert (
            "[NHI8] credential shared-pilot-key is a pilot credential bound for production"
            in messages
        )
        assert "[NHI9] credential shared-pilot-key is shared with support-copilot" in messages

        gate = (await stack.call("GET", f"/systems/{SYSTEM}/gate", REQUESTER)).json()
        assert gate["allowed"] is False
        assert "NHI8" in {g["nhi"] for g in gate["gaps"]}
        assert any(r.startswith("blocking gap [NHI8]") for r in gate["reasons"])

        async def both_listed() -> list[dict[str, Any]] | None:
            url = "/credentials?credential=shared-pilot-key"
            listed: list[dict[str, Any]] = (await stack.call("GET", url, REQUESTER)).json()
            return listed if len(listed) == 2 else None  # the projection lands after the reply

        inventory = await eventually(both_listed) or []
        assert {c["system_id"] for c in inventory} == {SYSTEM, "support-copilot"}
        mine_row = next(c for c in inventory if c["system_id"] == SYSTEM)
        assert mine_row["shared_with"] == ["support-copilot"]

        secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4"
        refused = await stack.call(
            "POST",
            f"/systems/{SYSTEM}/credentials",
            REQUESTER,
            json={**mine["credentials"][0], "id": "new-key", "vault_ref": secret},
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["problems"][0]["field"] == "vault_ref"
        assert "vault reference" not in secret and secret not in refused.text

        # The pilot credential is revoked; production credentials stay distinct: promotion opens.
        revoked = await stack.call(
            "POST", f"/systems/{SYSTEM}/credentials/shared-pilot-key/revoke", REQUESTER, json={}
        )
        assert revoked.status_code == 202, revoked.text
        promoted = await stack.call("POST", f"/systems/{SYSTEM}/promotion", REQUESTER, json={})
        assert promoted.status_code == 202, promoted.text

        async def revoked_audited() -> bool:
            actions = await audit_actions(stack)
            return "credential_revoked" in actions and "credential_revocation_confirmed" in actions

        assert await eventually(revoked_audited)
        calls = RecordingRevoker(tmp_path / "revocations.jsonl").calls()
        assert [c["credential_id"] for c in calls] == ["shared-pilot-key"]


async def test_tool_call_outside_scope_contains_the_system(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """With `actions.on_finding: contain`, a tool call outside the approved scope contains the
    system: every gate closes, its credential goes to the revoker, an incident ticket opens;
    security and the owners release it back to production."""
    settings = settings_for(database_url, tmp_path, on_finding="contain")
    async with running_stack(dev_env.client, settings) as stack:
        await in_production(stack)
        fine = await post_actions(
            stack, [action(), action(kind="prompt", tool=None, target=None, content="hi")]
        )
        assert fine == {"accepted": 2, "duplicates": 0, "findings": 0, "first_findings": []}

        result = await post_actions(
            stack, [action(tool="send_email", target="crm.accounts", access="write")]
        )
        assert [f["code"] for f in result["first_findings"]] == [
            "tool_out_of_scope",
            "target_out_of_scope",
        ]

        async def contained() -> bool:
            shown = await view(stack)
            return (
                shown["state"] == "contained"
                and shown["incident"] is not None
                and (shown["revocations"] == {CREDENTIAL: "confirmed"})
            )

        assert await eventually(contained)
        for environment in ("production", "pilot"):
            gate = (
                await stack.call(
                    "GET", f"/systems/{SYSTEM}/gate?environment={environment}", REQUESTER
                )
            ).json()
            assert gate["allowed"] is False and "contained" in gate["reasons"][0]
        calls = RecordingRevoker(tmp_path / "revocations.jsonl").calls()
        assert [(c["system_id"], c["credential_id"]) for c in calls] == [(SYSTEM, CREDENTIAL)]
        tickets = (await stack.call("GET", f"/tickets?system={SYSTEM}", REQUESTER)).json()
        assert any(t["kind"] == "incident" for t in tickets["items"])

        wanted = {
            "action_finding",
            "contained",
            "credential_revocation_requested",
            "credential_revocation_confirmed",
            "ticket_opened",
        }

        async def audited() -> bool:  # the audit ledger follows the live state by a moment
            return wanted <= set(await audit_actions(stack))

        assert await eventually(audited), await audit_actions(stack)

        released = await stack.call("POST", f"/systems/{SYSTEM}/release", REQUESTER, json={})
        assert released.status_code == 202, released.text
        request = released.json()["system"]["pending_request"]
        assert set(request["required_roles"]) == {"security", "business_owner", "technical_owner"}
        for who in (BUSINESS, TECH, SECURITY):
            decided = await stack.call(
                "POST", f"/requests/{request['id']}/decisions", who, json={"approve": True}
            )
            assert decided.status_code == 200, decided.text

        async def released_to_production() -> bool:
            return bool((await view(stack))["state"] == "production")

        assert await eventually(released_to_production)

        async def released_audited() -> bool:
            return "released" in await audit_actions(stack)

        assert await eventually(released_audited)


async def test_owners_and_security_are_told_in_slack_when_a_finding_contains(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """With Slack configured, both owners and security get a DM naming the finding and another
    saying the system was contained; acting while contained is told once more, then no more."""
    settings = settings_for(database_url, tmp_path, on_finding="contain")
    with SlackEmulator() as slack:
        people = {email: slack.add_user(email) for email in (BUSINESS, TECH, SECURITY, REQUESTER)}
        settings.slack = SlackSettings(
            bot_token=SecretStr(slack.token),
            signing_secret=SecretStr("0123456789abcdef0123456789abcdef"),
            api_url=slack.base_url,
        )
        async with running_stack(dev_env.client, settings) as stack:
            await in_production(stack)
            outside = action(tool="send_email")  # one kind of finding: a tool out of scope
            result = await post_actions(stack, [outside])
            assert [f["code"] for f in result["first_findings"]] == ["tool_out_of_scope"]

            def notices(email: str) -> list[str]:
                texts = [m.get("text", "") for m in slack.messages(slack.dm_channel(people[email]))]
                return [t for t in texts if "outside its approved scope" in t or "contained" in t]

            async def everyone_told() -> bool:
                return all(len(notices(e)) == 2 for e in (BUSINESS, TECH, SECURITY))

            assert await eventually(everyone_told), {e: notices(e) for e in people}
            finding, contained = notices(TECH)
            assert "acted outside its approved scope" in finding and "outcome: contain" in finding
            assert f"({SYSTEM}) was contained by threshold" in contained
            assert notices(REQUESTER) == []  # the requester is neither owner nor security

            # acting while contained is a finding of its own: everyone is told once more
            again = await post_actions(stack, [{**outside, "id": uuid.uuid4().hex}])
            codes = [f["code"] for f in again["first_findings"]]
            assert codes == ["action_while_contained"]

            async def told_again() -> bool:
                return all(len(notices(e)) == 3 for e in (BUSINESS, TECH, SECURITY))

            assert await eventually(told_again), {e: notices(e) for e in people}
            assert "acted while contained" in notices(SECURITY)[2]
            repeat = await post_actions(stack, [{**outside, "id": uuid.uuid4().hex}])
            assert repeat["findings"] == 2 and repeat["first_findings"] == []


async def test_tool_call_outside_scope_opens_revalidation_and_trace_finds_every_action(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """By default a finding opens revalidation; trace lists every action of the credential with
    its blast radius; the action ledger verifies and a tampered entry is caught."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        records = [action(time=f"2026-11-26T10:00:{i:02d}Z") for i in range(30)]
        records += [action(kind="output", tool=None, target=None, content="mail me at a@b.example")]
        records += [
            action(
                kind="privileged_action",
                tool=None,
                target="crm.tickets",
                access="read",
                action="send reply to customer",
            )
        ]
        result = await post_actions(stack, records)
        assert result["accepted"] == 32
        assert [f["code"] for f in result["first_findings"]] == ["missing_human_approval"]
        again = await post_actions(stack, records[:5])
        assert again["accepted"] == 0 and again["duplicates"] == 5

        async def revalidating() -> bool:
            return bool((await view(stack))["state"] == "revalidation_pending")

        assert await eventually(revalidating)
        traced = (await stack.call("GET", f"/trace?credential={CREDENTIAL}", REQUESTER)).json()
        assert traced["count"] == 32
        assert traced["systems"] == {SYSTEM: 32}
        assert set(traced["kinds"]) == {"tool_call", "output", "privileged_action"}
        assert traced["targets"] == {"kb.articles": 30, "crm.tickets": 1}
        assert traced["findings"] == {"missing_human_approval": 1}
        assert traced["bound_to"][0]["scopes"] == ["crm.tickets:read", "kb.articles:read"]
        by_system = (
            await stack.call("GET", f"/trace?system={SYSTEM}&since=3650d", REQUESTER)
        ).json()
        assert by_system["count"] == 32

        verified = (await stack.call("GET", "/audit/verify", REQUESTER)).json()
        assert verified["ok"] is True and verified["ledgers"]["actions"]["entries_checked"] == 32
        engine = get_engine(stack.settings.database_url)
        with engine.begin() as conn:
            conn.execute(text("UPDATE actions SET target = 'crm.accounts' WHERE seq = 3"))
        broken = (await stack.call("GET", "/audit/verify", REQUESTER)).json()
        assert broken["ok"] is False
        assert broken["first_broken"]["ledger"] == "actions"
        assert broken["first_broken"]["seq"] == 3


async def test_retire_revokes_every_credential_before_retiring(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """Retiring hands every credential to the revoker and retires once each is confirmed."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        retired = await stack.call(
            "POST", f"/systems/{SYSTEM}/retire", ADMIN, json={"reason": "replaced"}
        )
        assert retired.status_code == 200, retired.text
        assert "retired once each revocation is confirmed" in retired.json()["message"]

        async def is_retired() -> bool:
            rows = (await stack.call("GET", f"/systems?q={SYSTEM}", REQUESTER)).json()["items"]
            return bool(rows) and rows[0]["state"] == "retired"

        assert await eventually(is_retired)

        async def retired_audited() -> bool:
            return "retired" in await audit_actions(stack)

        assert await eventually(retired_audited)
        actions = await audit_actions(stack)
        assert actions.index("credential_revocation_confirmed") < actions.index("retired")
        calls = RecordingRevoker(tmp_path / "revocations.jsonl").calls()
        assert [c["credential_id"] for c in calls] == [CREDENTIAL]


async def test_contain_closes_every_gate_at_once_and_only_admins_contain(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """The contain answer already shows `contained`; a second contain and a non-admin are refused."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        body = {"reason": "credential leaked in a log"}
        refused = await stack.call("POST", f"/systems/{SYSTEM}/contain", REQUESTER, json=body)
        assert refused.status_code == 403
        contained = await stack.call("POST", f"/systems/{SYSTEM}/contain", ADMIN, json=body)
        assert contained.status_code == 200, contained.text
        assert contained.json()["system"]["state"] == "contained"
        assert contained.json()["system"]["contained_from"] == "production"
        gate = (await stack.call("GET", f"/systems/{SYSTEM}/gate", REQUESTER)).json()
        assert gate["allowed"] is False
        again = await stack.call("POST", f"/systems/{SYSTEM}/contain", ADMIN, json=body)
        assert again.status_code == 409
        change = await stack.call(
            "POST",
            f"/systems/{SYSTEM}/credentials",
            REQUESTER,
            json={
                "id": "k2",
                "kind": "api_key",
                "environment": "production",
                "vault_ref": "vault://kv/prod/k2",
            },
        )
        assert change.status_code == 409  # a contained system takes no scope change
