"""Prometheus `/metrics`: HTTP traffic by route template, commands by outcome, estate gauges.

Counters and histograms live in one process-wide registry (every app in the process adds to
them); the estate gauges are read from the database projection at scrape time, by a collector
per app, and reused for `observability.metrics_cache_seconds`.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import _principal
from core.logging import REQUEST_ID
from db.metrics import EstateFigures, read_figures

disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series beside every counter and histogram
PROCESS = CollectorRegistry(auto_describe=True)
HTTP_REQUESTS = Counter(
    "threshold_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
    registry=PROCESS,
)
HTTP_SECONDS = Histogram(
    "threshold_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=PROCESS,
)
COMMANDS = Counter(
    "threshold_commands",
    "Write requests (commands) by route name and outcome: accepted, refused, denied, unavailable.",
    ["command", "outcome"],
    registry=PROCESS,
)
VERIFY_SECONDS = Histogram(
    "threshold_ledger_verify_duration_seconds",
    "Time to recompute a ledger's hash chains, by ledger (audit, actions).",
    ["ledger"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
    registry=PROCESS,
)
READS = frozenset({"GET", "HEAD", "OPTIONS"})
REQUEST_ID_HEADER = "x-request-id"
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
UNMATCHED = "(unmatched)"


def outcome(status: int) -> str:
    """A command's outcome from its HTTP status."""
    if status < 400:
        return "accepted"
    if status in (401, 403):
        return "denied"
    if status >= 500:
        return "unavailable"
    return "refused"


def request_id(scope: Scope) -> str:
    """The caller's X-Request-ID when it is a sane token, else a new one."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _VALID_ID.fullmatch(text):
                return str(text)
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route's full template (`/api/v1/systems/{system_id}`), or `(unmatched)`.

    An included router's route may carry only its own part of the path (FastAPI >= 0.16x keeps
    nested routers), so the static prefix is taken from the request path before the part the
    route's pattern matches.
    """
    route = scope.get("route")
    own = getattr(route, "path", None)
    pattern = getattr(route, "path_regex", None)
    if not own or pattern is None:
        return UNMATCHED
    path = str(scope.get("path", ""))
    for start, char in enumerate(path):
        if char == "/" and pattern.match(path[start:]):
            return f"{path[:start]}{own}"
    return str(own)


class ObserveRequests:
    """Pure ASGI middleware: request id (echoed as X-Request-ID), HTTP and command metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        token = REQUEST_ID.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
            self._observe(scope, status, time.perf_counter() - started)

    @staticmethod
    def _observe(scope: Scope, status: int, seconds: float) -> None:
        """Count the request under its route template, never its raw path."""
        route = scope.get("route")
        template = route_template(scope)
        method = str(scope.get("method", ""))
        HTTP_REQUESTS.labels(method, template, str(status)).inc()
        HTTP_SECONDS.labels(method, template).observe(seconds)
        if route is not None and method not in READS:
            COMMANDS.labels(getattr(route, "name", template), outcome(status)).inc()


class ProjectionCollector(Collector):
    """The estate gauges of one database, read at scrape time and reused for `ttl` seconds."""

    def __init__(self, engine: Engine, ttl: float) -> None:
        self._engine = engine
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, EstateFigures] | None = None
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def figures(self) -> EstateFigures:
        """The latest reading, from the database when the cached one is older than ttl."""
        with self._lock:
            if self._cached is None or self._cached[0] <= time.monotonic():
                with Session(self._engine) as session:
                    figures = read_figures(session, now=datetime.now(UTC))
                self._cached = (time.monotonic() + self._ttl, figures)
            return self._cached[1]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauges, for prometheus-client."""
        figures = self.figures()
        yield _labelled(
            "threshold_systems",
            "AI systems by lifecycle state.",
            ["state"],
            {(k,): v for k, v in figures.systems.items()},
        )
        yield _labelled(
            "threshold_approval_requests",
            "Approval requests by kind and status (pending, approved, rejected, ...).",
            ["kind", "status"],
            figures.requests,
        )
        yield _labelled(
            "threshold_pending_approvals",
            "Pending approval requests by age.",
            ["age"],
            {(k,): v for k, v in figures.pending_by_age.items()},
        )
        yield _labelled(
            "threshold_ledger_entries",
            "Entries in each hash-chained ledger.",
            ["ledger"],
            {(k,): v for k, v in figures.ledger_entries.items()},
        )
        yield GaugeMetricFamily(
            "threshold_recertifications_overdue",
            "Systems whose recertification is overdue.",
            figures.overdue,
        )
        yield GaugeMetricFamily(
            "threshold_open_findings",
            "Distinct action-ledger finding kinds per system.",
            figures.findings,
        )
        yield GaugeMetricFamily("threshold_open_tickets", "Open tickets.", figures.open_tickets)

    async def exposition(self, process: bytes) -> bytes:
        """The process metrics followed by this database's gauges (read off the event loop)."""
        return process + await asyncio.to_thread(generate_latest, self.registry)


def _labelled(
    name: str, documentation: str, labels: list[str], values: Mapping[tuple[str, ...], int]
) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, documentation, labels=labels)
    for key, value in sorted(values.items()):
        gauge.add_metric(list(key), value)
    return gauge


router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Response:
    """Prometheus exposition: a viewer (or higher) token, unless `metrics_public` is set."""
    if not request.app.state.settings.observability.metrics_public:
        await _principal(request, authorization)
    collector: ProjectionCollector = request.app.state.projection_metrics
    body = await collector.exposition(generate_latest(PROCESS))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
