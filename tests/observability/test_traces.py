"""Traces: one registration is one trace across the API, the workflow and its activities."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from core.observability import flush_traces, traced_client
from core.settings import ObservabilitySettings
from tests.e2e.test_promotion_tour import manifest
from tests.harness import REQUESTER, make_settings, running_stack
from tests.observability.otlp import OtlpReceiver, ReceivedSpan

pytestmark = pytest.mark.devserver


def by_name(spans: list[ReceivedSpan], span_id: str) -> str:
    """The name of the span with this id."""
    return next(s.name for s in spans if s.span_id == span_id)


async def test_registration_is_one_trace_from_api_to_activities(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The OTLP receiver gets the HTTP span, the workflow's spans and an activity span under one trace id."""
    with OtlpReceiver() as receiver:
        settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
        settings.observability = ObservabilitySettings(
            otlp_endpoint=receiver.url, service_name="threshold-trace-test"
        )
        client = traced_client(dev_env.client, settings)
        async with running_stack(client, settings) as stack:
            created = await stack.call(
                "POST", "/systems", REQUESTER, json=manifest("support-assistant")
            )
            assert created.status_code == 201, created.text
            for _ in range(100):
                flush_traces(settings)
                names = {s.name for s in receiver.spans}
                if any(n.startswith("RunActivity:") for n in names):
                    break
                await asyncio.sleep(0.1)
        flush_traces(settings)
        spans = receiver.spans
    http = [s for s in spans if s.name == "POST /api/v1/systems"]
    assert http, sorted({s.name for s in spans})
    trace = [s for s in spans if s.trace_id == http[0].trace_id]
    names = {s.name for s in trace}
    run = next(s for s in trace if s.name == "RunWorkflow:AISystemWorkflow")
    assert by_name(trace, run.parent_id) == "StartWorkflow:AISystemWorkflow"
    assert any(n.startswith("RunActivity:") for n in names), names
    assert {s.service for s in trace} == {"threshold-trace-test"}
    by_id = {s.span_id: s for s in trace}
    chain = [next(s for s in trace if s.name.startswith("RunActivity:"))]
    while chain[-1].parent_id in by_id:
        chain.append(by_id[chain[-1].parent_id])
    assert [s.name.split(":")[0] for s in chain] == [
        "RunActivity",
        "StartActivity",
        "StartWorkflow",
        "POST /api/v1/systems",
    ]
