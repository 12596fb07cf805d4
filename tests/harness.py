"""A whole Threshold stack for tests: worker + API (in-process ASGI) on a real Temporal server."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlmodel import Session
from temporalio.client import Client

from api.app import create_app
from core.settings import Settings, TemporalSettings
from core.up import KEEP_ALIVE_SECONDS
from db.engine import get_engine, init_db
from db.tokens import issue_token
from domain.contracts import system_workflow_id
from worker import build_worker

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

BUSINESS = "dana.business@example.com"
TECH = "tom.tech@example.com"
SECURITY = "sam.security@example.com"
REQUESTER = "rita.requester@example.com"


@dataclass
class Stack:
    """A running stack: an HTTP client per principal, the settings, the Temporal client."""

    settings: Settings
    client: Client
    http: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)
    app: FastAPI | None = None

    def as_(self, principal: str) -> dict[str, str]:
        """Authorization headers for a principal issued by `token`."""
        return {"Authorization": f"Bearer {self.tokens[principal]}"}

    def workflow_id(self, system_id: str) -> str:
        """The lifecycle workflow id of a system in this stack."""
        return system_workflow_id(system_id, self.settings.temporal.workflow_id_prefix)

    def token(self, principal: str, role: str) -> str:
        """Issue a token for a principal with a role, straight into the database."""
        with Session(get_engine(self.settings.database_url)) as session:
            _, value = issue_token(session, principal=principal, role=role)
            session.commit()
        self.tokens[principal] = value
        return value

    async def call(self, method: str, path: str, principal: str, **kwargs: Any) -> httpx.Response:
        """Send an authenticated request as `principal`."""
        headers = {**self.as_(principal), **kwargs.pop("headers", {})}
        return await self.http.request(method, f"/api/v1{path}", headers=headers, **kwargs)


def make_settings(database_url: str, tmp_dir: Path, **temporal: Any) -> Settings:
    """Settings for one test: its own task queue, database and data directory."""
    return Settings(
        data_dir=tmp_dir,
        database_url=database_url,
        policy_file=ROOT / "policy.yaml",
        temporal=TemporalSettings(
            **{
                "task_queue": f"tq-{uuid.uuid4().hex[:10]}",
                "workflow_id_prefix": f"t{uuid.uuid4().hex[:8]}-",
                **temporal,
            }
        ),
    )


@asynccontextmanager
async def running_stack(
    client: Client, settings: Settings, **worker_options: Any
) -> AsyncIterator[Stack]:
    """Start a worker and the API app against `client`; stop both on exit."""
    init_db(get_engine(settings.database_url))
    app = create_app(settings, client)
    with ThreadPoolExecutor(max_workers=16) as executor:
        worker = build_worker(client, settings, executor, **worker_options)
        async with worker, app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://threshold") as http:
                stack = Stack(settings=settings, client=client, http=http, app=app)
                stack.token(BUSINESS, "approver")
                stack.token(TECH, "approver")
                stack.token(SECURITY, "approver")
                stack.token(REQUESTER, "emitter")
                stack.token("admin@threshold.local", "admin")
                stack.token("viewer@example.com", "viewer")
                yield stack


@asynccontextmanager
async def serve_api(app: FastAPI, *, lifespan: str = "on") -> AsyncIterator[str]:
    """Run the app under uvicorn in this event loop on a free port; yield its base URL.

    `lifespan="off"` serves an app whose lifespan is already running (`running_stack`'s).
    """
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listening socket says TCP, and without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan=lifespan,  # type: ignore[arg-type]
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)
        sock.close()
