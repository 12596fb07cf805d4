"""Runtime governance follows the lifecycle and the approved model: HTTP API, OTLP and CLI."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment

from db.engine import get_engine
from tests.e2e.test_authorize import ask, in_production, threshold
from tests.e2e.test_credentials_actions import (
    CREDENTIAL,
    SYSTEM,
    action,
    post_actions,
    settings_for,
)
from tests.e2e.test_otlp_ingest import agent_spans, export
from tests.e2e.test_promotion_tour import eventually, manifest
from tests.harness import REQUESTER, Stack, running_stack, serve_api

pytestmark = pytest.mark.devserver


async def decision(stack: Stack, **fields: Any) -> dict[str, Any] | None:
    """POST /authorize; the answer, or None while the snapshot does not know the system yet."""
    response = await stack.call("POST", "/authorize", REQUESTER, json=ask(**fields))
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def traced(stack: Stack) -> dict[str, Any]:
    """GET /trace of the support assistant."""
    found: dict[str, Any] = (await stack.call("GET", f"/trace?system={SYSTEM}", REQUESTER)).json()
    return found


async def test_a_system_not_approved_for_production_may_not_act_there(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """In pilot and awaiting promotion, a production action is denied (environment_not_approved,
    naming the state) and a reported one is a finding; the pilot environment stays allowed."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        registered = await stack.call("POST", "/systems", REQUESTER, json=manifest(SYSTEM))
        assert registered.status_code == 201, registered.text

        async def denied_in(state: str) -> dict[str, Any] | None:
            answer = await decision(stack)
            return answer if answer is not None and answer["state"] == state else None

        pilot = await eventually(lambda: denied_in("pilot"))
        assert pilot is not None
        assert pilot["decision"] == "deny" and pilot["codes"] == ["environment_not_approved"]
        assert "not approved for production (state: pilot): promote it first" in pilot["reasons"][0]
        in_pilot = await decision(stack, environment="pilot", credential_id=None)
        assert in_pilot is not None and in_pilot["decision"] == "allow", in_pilot

        promoted = await stack.call("POST", f"/systems/{SYSTEM}/promotion", REQUESTER, json={})
        assert promoted.status_code == 202, promoted.text
        pending = await eventually(lambda: denied_in("promotion_pending"))
        assert pending is not None and pending["codes"] == ["environment_not_approved"]

        result = await post_actions(stack, [action(id="reported-1")])
        assert result["findings"] == 1  # a production action reported after the fact
        found = await traced(stack)
        assert set(found["findings"]) == {"environment_not_approved"}
        reported = [a for a in found["actions"] if a["record_key"] == f"{SYSTEM}:reported-1"]
        assert [a["environment"] for a in reported] == ["production"]


def chat_spans(system: str, request_model: str, response_model: str) -> list[ReadableSpan]:
    """One GenAI chat span naming the model asked for and the model that answered."""
    memory = InMemorySpanExporter()
    resource = Resource.create(
        {"service.name": system, "deployment.environment.name": "production"}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": request_model,
        "gen_ai.response.model": response_model,
        "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]',
    }
    with provider.get_tracer("agent").start_as_current_span(
        f"chat {request_model}", attributes=attributes
    ):
        pass
    provider.shutdown()
    return list(memory.get_finished_spans())


async def test_the_model_is_stored_shown_checked_and_chained(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """The SDK exporter's model lands in the ledger and in `threshold trace`; a swapped model is
    a finding and an authorize deny (API and CLI); rewriting the stored model breaks the chain."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        assert stack.app is not None
        token = stack.tokens[REQUESTER]
        async with serve_api(stack.app, lifespan="off") as url:
            spans = await asyncio.to_thread(agent_spans, SYSTEM, ["search_kb"])
            assert await asyncio.to_thread(export, url, token, spans) is SpanExportResult.SUCCESS
            found = await traced(stack)
            assert found["models"] == {"claude-sonnet": 1} and found["findings"] == {}
            chat = next(a for a in found["actions"] if a.get("model"))
            assert chat["kind"] == "prompt" and chat["model"] == "claude-sonnet"
            code, out = await threshold(url, token, "trace", "--system", SYSTEM)
            assert code == 0 and "models: claude-sonnet (1)" in out, out

            swapped = await asyncio.to_thread(chat_spans, SYSTEM, "claude-sonnet", "gpt-5")
            assert await asyncio.to_thread(export, url, token, swapped) is SpanExportResult.SUCCESS
            found = await traced(stack)
            assert found["models"] == {"claude-sonnet": 1, "gpt-5": 1}
            assert found["findings"] == {"model_not_approved": 1}

            denied = await decision(stack, model="gpt-5")
            assert denied is not None and denied["decision"] == "deny", denied
            assert denied["codes"] == ["model_not_approved"]
            reason = denied["reasons"][0]
            assert "model gpt-5 is not the approved anthropic/claude-sonnet 2026-09" in reason
            allowed = await decision(stack, model="Anthropic/Claude-Sonnet:2026-09")
            assert allowed is not None and allowed["decision"] == "allow", allowed
            code, out = await threshold(
                url, token, "authorize", SYSTEM, "--credential", CREDENTIAL,
                "--tool", "search_kb", "--target", "kb.articles", "--model", "gpt-5",
            )  # fmt: skip
            assert code == 1 and "a model swap needs revalidation" in out, out

        verified = (await stack.call("GET", "/audit/verify", REQUESTER)).json()
        assert verified["ok"] is True, verified
        engine = get_engine(stack.settings.database_url)
        with engine.begin() as conn:
            seq = conn.execute(  # the exported span's record (the denials came after it)
                text("SELECT min(seq) FROM actions WHERE model = 'gpt-5' AND chain_id = :s"),
                {"s": SYSTEM},
            ).scalar_one()
            conn.execute(
                text("UPDATE actions SET model = 'claude-sonnet' WHERE chain_id = :s AND seq = :q"),
                {"s": SYSTEM, "q": seq},
            )
        broken = (await stack.call("GET", "/audit/verify", REQUESTER)).json()
        assert broken["ok"] is False
        assert broken["first_broken"]["ledger"] == "actions"
        assert (broken["first_broken"]["chain_id"], broken["first_broken"]["seq"]) == (
            SYSTEM,
            seq,
        )
