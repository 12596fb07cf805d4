"""/metrics: HTTP traffic by route template, commands by outcome, estate gauges, SDK metrics."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from core.observability import worker_runtime
from core.settings import ObservabilitySettings
from tests.e2e.test_promotion_tour import eventually, register_and_request
from tests.harness import REQUESTER, make_settings, running_stack
from worker import build_worker

pytestmark = pytest.mark.devserver

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition, parsed by prometheus-client's own parser."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when absent)."""
    return found.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_count_routes_commands_and_the_estate(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """After a registration and a promotion request, /metrics shows them by route, command and gauge."""
    settings = make_settings(database_url, tmp_path)
    settings.observability = ObservabilitySettings(metrics_cache_seconds=0)
    async with running_stack(dev_env.client, settings) as stack:
        viewer = stack.as_("viewer@example.com")
        before = samples((await stack.http.get("/metrics", headers=viewer)).text)
        await register_and_request(stack)
        missing = await stack.call("GET", "/systems/no-such-system", REQUESTER)
        assert missing.status_code == 404
        await stack.call("GET", "/audit/verify", "viewer@example.com")
        anonymous = await stack.http.get("/metrics")

        async def projected() -> Samples | None:  # the projection lands shortly after the answer
            found = samples((await stack.http.get("/metrics", headers=viewer)).text)
            return found if value(found, "threshold_pending_approvals", age="0-1h") else None

        after = await eventually(projected) or {}
        scraped = await stack.http.get("/metrics", headers=viewer)
    assert anonymous.status_code == 401
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    assert not any(name.endswith("_created") for name, _ in after)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    systems = "/api/v1/systems"
    assert grew("threshold_http_requests_total", method="POST", route=systems, status="201") == 1
    one = f"{systems}/{{system_id}}"
    assert grew("threshold_http_requests_total", method="GET", route=one, status="404") == 1
    assert not any("no-such-system" in str(key) for key in after)  # templates, never raw paths
    assert grew("threshold_http_request_duration_seconds_count", method="POST", route=systems) == 1
    assert grew("threshold_commands_total", command="register_system", outcome="accepted") == 1
    assert grew("threshold_commands_total", command="request_promotion", outcome="accepted") == 1
    assert value(after, "threshold_systems", state="promotion_pending") == 1
    assert value(after, "threshold_pending_approvals", age="0-1h") == 1
    assert value(after, "threshold_pending_approvals", age="7d+") == 0
    assert value(after, "threshold_approval_requests", kind="promotion", status="pending") == 1
    assert value(after, "threshold_ledger_entries", ledger="audit") >= 2
    assert value(after, "threshold_recertifications_overdue") == 0
    assert value(after, "threshold_open_findings") == 0
    assert grew("threshold_ledger_verify_duration_seconds_count", ledger="audit") == 1
    assert grew("threshold_ledger_verify_duration_seconds_count", ledger="actions") == 1


async def test_metrics_without_a_token_when_configured_public(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """With metrics_public set, a scraper without a token gets the exposition."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    settings.observability = ObservabilitySettings(metrics_public=True)
    async with running_stack(dev_env.client, settings) as stack:
        scraped = await stack.http.get("/metrics")
    assert scraped.status_code == 200
    assert "threshold_systems" in scraped.text


def free_port() -> int:
    """A local TCP port free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_worker_serves_the_temporal_sdk_metrics(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A worker whose client uses worker_runtime serves Temporal's own metrics at the bind address."""
    bind = f"127.0.0.1:{free_port()}"
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    settings.observability = ObservabilitySettings(worker_metrics_bind=bind)
    runtime = worker_runtime(settings)
    assert runtime is not None
    config = dev_env.client.service_client.config
    client = await Client.connect(
        config.target_host,
        namespace=dev_env.client.namespace,
        data_converter=dev_env.client.data_converter,
        runtime=runtime,
    )
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with build_worker(client, settings, executor), httpx.AsyncClient() as http:

            async def polled() -> str | None:
                text = (await http.get(f"http://{bind}/metrics")).text
                return text if "temporal_num_pollers" in text else None

            text = await eventually(polled) or (await http.get(f"http://{bind}/metrics")).text
    names = {family.name for family in text_string_to_metric_families(text)}
    assert "temporal_num_pollers" in names, names
    assert "temporal_worker_task_slots_available" in names, names
