"""`GET /systems/{id}?at=` answers what was approved at a past moment, from the audit ledger."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli import client as cli_client
from cli.main import app as cli_app
from tests.e2e.test_promotion_tour import eventually
from tests.e2e.test_scope_changes import (
    SYSTEM,
    AppBridge,
    audit_actions,
    cloudevent,
    decide,
    in_production,
    send,
)
from tests.harness import BUSINESS, REQUESTER, SECURITY, TECH, make_settings, running_stack

pytestmark = pytest.mark.devserver


async def test_point_in_time_shows_the_scope_approved_then(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """Before a revalidated change the old scope and promoters show; after it, the new one."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        before = datetime.now(UTC)
        await in_production(stack)

        async def promoted() -> bool:
            return "entered_production" in await audit_actions(stack)

        assert await eventually(promoted)
        promoted_at = datetime.now(UTC)
        sent = (await send(stack, cloudevent({"add_write": ["crm.accounts"]}))).json()
        for who in (TECH, SECURITY):
            assert (await decide(stack, sent["request_id"], who)).status_code == 200

        async def revalidated() -> bool:
            return "revalidation_approved" in await audit_actions(stack)

        assert await eventually(revalidated)

        then = await stack.call(
            "GET", f"/systems/{SYSTEM}?at={quote(promoted_at.isoformat())}", REQUESTER
        )
        assert then.status_code == 200, then.text
        body = then.json()
        assert body["state"] == "production"
        assert body["approved_manifest"]["capabilities"]["write_targets"] == []
        assert sorted(body["approved_by"]) == sorted([BUSINESS, TECH, SECURITY])
        assert body["approval_request"] == f"{SYSTEM}-1"

        now = await stack.call(
            "GET", f"/systems/{SYSTEM}?at={quote(datetime.now(UTC).isoformat())}", REQUESTER
        )
        latest = now.json()
        assert latest["approved_manifest"]["capabilities"]["write_targets"] == ["crm.accounts"]
        assert latest["approval_request"] == sent["request_id"]
        assert sorted(latest["approved_by"]) == sorted([TECH, SECURITY])

        early = await stack.call(
            "GET", f"/systems/{SYSTEM}?at={quote(before.replace(year=2020).isoformat())}", REQUESTER
        )
        assert early.status_code == 404
        assert "was not registered at 2020" in early.json()["error"]["message"]
        bad = await stack.call("GET", f"/systems/{SYSTEM}?at=yesterday", REQUESTER)
        assert bad.status_code == 422
        assert bad.json()["error"]["problems"][0]["field"] == "at"


async def test_cli_show_at_answers_from_the_ledger(
    dev_env: WorkflowEnvironment,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`threshold systems show ID --at T --json` against the live API names the promotion request."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        await in_production(stack)

        async def promoted() -> bool:
            return "entered_production" in await audit_actions(stack)

        assert await eventually(promoted)
        monkeypatch.setattr(cli_client, "TRANSPORT", AppBridge(stack, asyncio.get_running_loop()))
        args = ["--token", stack.tokens[REQUESTER], "systems", "show", SYSTEM]
        at = ["--at", datetime.now(UTC).isoformat(), "--json"]
        result = await asyncio.to_thread(CliRunner().invoke, cli_app, args + at)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["approval_request"] == f"{SYSTEM}-1"
