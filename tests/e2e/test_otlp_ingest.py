"""OTLP/HTTP trace ingest end to end: the official OpenTelemetry SDK exporter against a live API."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.testing import WorkflowEnvironment

from domain.access import SECURITY_CHAIN
from tests.e2e.test_credentials_actions import CREDENTIAL, SYSTEM, settings_for, view
from tests.e2e.test_promotion_tour import eventually, manifest
from tests.e2e.test_scope_changes import in_production
from tests.harness import REQUESTER, running_stack, serve_api

pytestmark = pytest.mark.devserver


def agent_spans(system: str, tools: Sequence[str]) -> list[ReadableSpan]:
    """GenAI spans as an instrumented agent makes them: one chat, one execute_tool per tool."""
    memory = InMemorySpanExporter()
    resource = Resource.create(
        {"service.name": system, "deployment.environment.name": "production"}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("agent")
    with tracer.start_as_current_span(
        "invoke_agent support",
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.id": system,
        },
    ):
        with tracer.start_as_current_span(
            "chat claude-sonnet",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "claude-sonnet",
                "gen_ai.conversation.id": "conv-1",
                "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]',
            },
        ):
            pass
        for n, tool in enumerate(tools):
            with tracer.start_as_current_span(
                f"execute_tool {tool}",
                attributes={
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": tool,
                    "gen_ai.tool.call.id": f"call-{n}",
                    "threshold.credential.id": CREDENTIAL,
                    "threshold.target": "kb.articles",
                },
            ):
                pass
    provider.shutdown()
    return list(memory.get_finished_spans())


def export(url: str, token: str | None, spans: list[ReadableSpan]) -> SpanExportResult:
    """Send spans with the SDK's OTLP/HTTP protobuf exporter, gzip, bearer token as a header."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    exporter = OTLPSpanExporter(
        endpoint=f"{url}/v1/traces", headers=headers, compression=Compression.Gzip, timeout=20
    )
    try:
        return exporter.export(spans)
    finally:
        exporter.shutdown()  # type: ignore[no-untyped-call]


async def test_sdk_exported_spans_enter_the_ledger_and_an_out_of_scope_tool_contains(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """Spans from the OpenTelemetry SDK's exporter become ledger records with tool and
    credential; an out-of-scope tool call finds and contains as a ledger record does; a
    re-export is a no-op; without a token the exporter is refused."""
    settings = settings_for(database_url, tmp_path, on_finding="contain")
    async with running_stack(dev_env.client, settings) as stack:
        await in_production(stack)
        async with serve_api(stack.app, lifespan="off") as url:  # type: ignore[arg-type]
            token = stack.tokens[REQUESTER]
            spans = await asyncio.to_thread(agent_spans, SYSTEM, ["search_kb"])
            assert await asyncio.to_thread(export, url, token, spans) is SpanExportResult.SUCCESS
            assert await asyncio.to_thread(export, url, token, spans) is SpanExportResult.SUCCESS
            refused = await asyncio.to_thread(export, url, None, spans)
            assert refused is SpanExportResult.FAILURE

            traced = (await stack.call("GET", f"/trace?system={SYSTEM}", REQUESTER)).json()
            assert traced["count"] == 3  # invoke_agent, chat, execute_tool; the re-send added none
            assert traced["tools"] == {"search_kb": 1}
            assert traced["credentials"] == {CREDENTIAL: 1}
            assert traced["kinds"] == {"prompt": 2, "tool_call": 1}
            assert traced["findings"] == {}
            assert (await view(stack))["state"] == "production"

            bad = await asyncio.to_thread(agent_spans, SYSTEM, ["send_email"])
            assert await asyncio.to_thread(export, url, token, bad) is SpanExportResult.SUCCESS

        async def contained() -> bool:
            return bool((await view(stack))["state"] == "contained")

        assert await eventually(contained)
        traced = (await stack.call("GET", f"/trace?system={SYSTEM}", REQUESTER)).json()
        assert traced["findings"] == {"tool_out_of_scope": 1}


def json_export(system: str, **attributes: str) -> dict[str, Any]:
    """An OTLP JSON export of one MCP tools/call span for `system` (hex ids, as the spec says)."""
    attrs = {"mcp.method.name": "tools/call", "gen_ai.tool.name": "search_kb", **attributes}
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "threshold.system.id", "value": {"stringValue": system}}]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "mcp"},
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "tools/call search_kb",
                                "kind": 2,
                                "startTimeUnixNano": "1764669600000000000",
                                "endTimeUnixNano": "1764669600100000000",
                                "attributes": [
                                    {"key": k, "value": {"stringValue": v}}
                                    for k, v in attrs.items()
                                ],
                                "someFutureField": True,
                            }
                        ],
                    }
                ],
            }
        ]
    }


async def test_json_export_takes_known_systems_and_reports_unknown_ones(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A JSON export lands for a registered system; an unknown system's span is counted in
    partialSuccess and audited; a broken body is a 400 naming it; no token is a 401."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        registered = await stack.call("POST", "/systems", REQUESTER, json=manifest(SYSTEM))
        assert registered.status_code == 201, registered.text

        async def projected() -> bool:  # the projection follows the registration by a moment
            listed = await stack.call("GET", f"/credentials?system={SYSTEM}", REQUESTER)
            return bool(listed.json())

        assert await eventually(projected)
        async with serve_api(stack.app, lifespan="off") as url:  # type: ignore[arg-type]
            auth = {"Authorization": f"Bearer {stack.tokens[REQUESTER]}"}
            async with httpx.AsyncClient(base_url=url, headers=auth) as http:
                taken = await http.post("/v1/traces", json=json_export(SYSTEM))
                assert taken.status_code == 200, taken.text
                assert taken.headers["content-type"].startswith("application/json")
                assert taken.json() == {}

                body = gzip.compress(json.dumps(json_export("shadow-agent")).encode())
                unknown = await http.post(
                    "/v1/traces",
                    content=body,
                    headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
                )
                assert unknown.status_code == 200, unknown.text
                partial = unknown.json()["partialSuccess"]
                assert partial["rejectedSpans"] == "1"  # int64: a string in protobuf JSON
                assert "shadow-agent" in partial["errorMessage"]

                broken = await http.post(
                    "/v1/traces", content=b"{not json", headers={"Content-Type": "application/json"}
                )
                assert broken.status_code == 400
                assert "not JSON" in broken.json()["error"]["message"]
                wrong = await http.post(
                    "/v1/traces", content=b"x", headers={"Content-Type": "text/plain"}
                )
                assert wrong.status_code == 415
            async with httpx.AsyncClient(base_url=url) as anonymous:
                assert (await anonymous.post("/v1/traces", json={})).status_code == 401

        traced = (await stack.call("GET", f"/trace?system={SYSTEM}", REQUESTER)).json()
        assert traced["tools"] == {"search_kb": 1} and traced["kinds"] == {"tool_call": 1}
        events = await stack.call("GET", f"/audit/events?system={SECURITY_CHAIN}", REQUESTER)
        unmatched = [e for e in events.json() if e["action"] == "otlp_spans_unmatched"]
        details = [
            json.loads(e["detail"]) if isinstance(e["detail"], str) else e["detail"]
            for e in unmatched
        ]
        assert [d["systems"] for d in details] == [{"shadow-agent": 1}]
