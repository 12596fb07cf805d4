"""Telemetry plumbing shared by the API and the worker: SDK metrics, traces, process logging.

Everything here is off unless configured: without `observability.otlp_endpoint` no
OpenTelemetry module is imported and clients are returned unchanged; without
`observability.worker_metrics_bind` the worker keeps Temporal's default runtime.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from core.logging import configure_logging
from core.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider

_providers: dict[tuple[str, str], TracerProvider] = {}
_lock = threading.Lock()


def worker_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime serving the SDK's worker metrics at `worker_metrics_bind`, or None."""
    bind = settings.observability.worker_metrics_bind
    if not bind:
        return None
    metrics = PrometheusConfig(bind_address=bind, durations_as_seconds=True)
    return Runtime(telemetry=TelemetryConfig(metrics=metrics))


def setup_worker_process(settings: Settings) -> None:
    """Logging for the worker process, and the metrics runtime as the default for its clients."""
    configure_logging(settings)
    runtime = worker_runtime(settings)
    if runtime is not None:
        Runtime.set_default(runtime, error_if_already_set=False)


def tracer_provider(settings: Settings) -> TracerProvider | None:
    """The process's tracer provider exporting to `otlp_endpoint` over OTLP/HTTP, or None."""
    endpoint = settings.observability.otlp_endpoint
    if not endpoint:
        return None
    key = (endpoint.rstrip("/"), settings.observability.service_name)
    with _lock:
        if key not in _providers:
            _providers[key] = _new_provider(*key)
        return _providers[key]


def _new_provider(endpoint: str, service: str) -> TracerProvider:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=1000))
    return provider


def traced_client(client: Client, settings: Settings) -> Client:
    """`client` with Temporal's tracing interceptor when traces are on (workers inherit it)."""
    provider = tracer_provider(settings)
    if provider is None:
        return client
    from temporalio.contrib.opentelemetry import TracingInterceptor

    config: dict[str, Any] = dict(client.config())
    present = list(config.get("interceptors", []))
    if any(isinstance(i, TracingInterceptor) for i in present):
        return client
    interceptor = TracingInterceptor(provider.get_tracer("threshold.temporal"))
    config["interceptors"] = [*present, interceptor]
    return Client(**config)


def instrument_app(app: FastAPI, settings: Settings) -> None:
    """Trace every HTTP request of `app` when traces are on."""
    provider = tracer_provider(settings)
    if provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls="healthz,readyz,metrics",
        exclude_spans=["receive", "send"],  # one span per request, not one per ASGI message
    )


def flush_traces(settings: Settings) -> None:
    """Export the spans still buffered (on shutdown)."""
    provider = tracer_provider(settings)
    if provider is not None:
        provider.force_flush()
