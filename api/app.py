"""The FastAPI application: wires settings, database, Temporal and the routers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from api import errors, metrics, openapi, readiness
from api.auth import TokenCache
from api.authorizer import Authorizer
from api.dashboard.inventory import router as dashboard_inventory
from api.dashboard.pages import router as dashboard_pages
from api.dashboard.router import router as dashboard_router
from api.dashboard.templating import STATIC
from api.limits import BodyLimit
from api.oidc import Oidc
from api.routes import (
    actions,
    audit,
    authorize,
    boms,
    codec,
    credentials,
    events,
    governance,
    otlp,
    requests,
    slack,
    systems,
    tickets,
    tokens,
    webhooks,
)
from api.routes.slack import SlackGateway
from api.service import GovernanceService
from api.throttle import Guard
from core.observability import flush_traces, instrument_app, traced_client
from core.settings import Settings
from core.signing import startup_signer
from core.temporal import connect
from db.engine import get_engine, init_db
from db.verify import shutdown_verifiers
from integrations.slack import SlackMessenger

API_PREFIX = "/api/v1"
# No inline script or style anywhere in the dashboard; /docs and /redoc (inline init script) are
# exempt, their assets are local (api/openapi.py).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeaders:
    """Pure ASGI middleware adding the security headers (and CSP, except on the API docs).

    Not `@app.middleware("http")`: Starlette's `BaseHTTPMiddleware` runs every request through
    an extra task and memory streams, a measurable share of a small request's CPU.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        extra = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
        csp = [*extra, (b"content-security-policy", CSP.encode())]
        # Built once: (headers to add, their lower-cased names to drop from the response).
        self.docs = (extra, frozenset(name for name, _ in extra))
        self.pages = (csp, frozenset(name for name, _ in csp))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"].startswith(("/docs", "/redoc"))
        extra, names = self.docs if docs else self.pages

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": [*kept, *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def slack_gateway(settings: Settings) -> SlackGateway | None:
    """The Slack interactivity gateway, when a signing secret and bot token are configured."""
    secret, token = settings.slack.signing_secret, settings.slack.bot_token
    if secret is None or token is None:
        return None
    return SlackGateway(secret.get_secret_value(), SlackMessenger.from_settings(settings.slack))


def create_app(settings: Settings, client: Client | None = None) -> FastAPI:
    """An app for these settings; pass `client` to reuse a connected Temporal client."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = get_engine(settings.database_url)
        init_db(engine)
        temporal = traced_client(client or await connect(settings), settings)
        app.state.settings = settings
        app.state.engine = engine
        app.state.tokens = TokenCache(engine, settings.api.token_cache_seconds)
        app.state.guard = Guard(settings.api, engine)
        app.state.service = GovernanceService(temporal, settings, engine)
        app.state.slack = slack_gateway(settings)
        app.state.audit_signer = startup_signer(settings)  # creates the local key on first start
        app.state.oidc = Oidc(settings.oidc) if settings.oidc.issuer else None
        app.state.readiness = readiness.Readiness(engine, temporal, settings)
        app.state.projection_metrics = metrics.ProjectionCollector(
            engine, settings.observability.metrics_cache_seconds
        )
        app.state.authorizer = Authorizer(engine, settings, app.state.service)
        await asyncio.to_thread(app.state.authorizer.snapshot.refresh, engine)
        poller = asyncio.create_task(app.state.authorizer.run())
        yield
        poller.cancel()
        await app.state.authorizer.flush()
        flush_traces(settings)
        shutdown_verifiers()  # the ledger verifier processes, if a verification started them

    app = FastAPI(
        title="Threshold",
        version="0.1.0",
        description="Change control for AI systems crossing from pilot to production.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=openapi.operation_id,
    )
    errors.install(app)
    api = APIRouter(prefix=API_PREFIX)
    for module in (
        systems,
        requests,
        events,
        audit,
        tokens,
        tickets,
        governance,
        credentials,
        actions,
        webhooks,
        boms,
        authorize,
    ):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(slack.router)
    app.include_router(otlp.router)  # /v1/traces: the OTLP/HTTP path, outside /api/v1
    app.include_router(codec.router)
    app.include_router(dashboard_router)
    app.include_router(dashboard_pages)
    app.include_router(dashboard_inventory)
    app.include_router(metrics.router)
    app.include_router(readiness.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    openapi.install(app)

    limits = {
        f"{API_PREFIX}/actions": settings.api.max_actions_body_bytes,
        "/v1/traces": settings.api.max_actions_body_bytes,
    }
    app.add_middleware(BodyLimit, default=settings.api.max_body_bytes, by_path=limits)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(metrics.ObserveRequests)  # request id, HTTP and command metrics
    instrument_app(app, settings)  # OpenTelemetry spans, only when an OTLP endpoint is set
    app.add_middleware(codec.CodecCors, settings=settings)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, bool]:
        """Liveness only: the process answers (readiness, with dependencies, is /readyz)."""
        return {"ok": True}

    return app
