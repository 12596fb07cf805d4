"""The production wiring under test: `run_worker` and `create_app` each connect from settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from sqlmodel import Session

from api.app import create_app
from core.settings import Settings
from db.engine import get_engine, init_db
from db.tokens import issue_token
from tests.e2e.test_promotion_tour import manifest
from worker import run_worker

REQUESTER = "rita.requester@example.com"


@dataclass
class Secured:
    """A running worker + API: an HTTP client (as an emitter), the app, and a token issuer."""

    http: httpx.AsyncClient
    app: FastAPI
    settings: Settings

    def token(self, principal: str, role: str) -> str:
        """Issue a token straight into the database."""
        with Session(get_engine(self.settings.database_url)) as session:
            _, value = issue_token(session, principal=principal, role=role)
            session.commit()
        return value


@asynccontextmanager
async def production_stack(settings: Settings) -> AsyncIterator[Secured]:
    """A worker and the API, both connecting with `settings` (as `worker.py` and `api.main` do)."""
    init_db(get_engine(settings.database_url))
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, stop))
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://threshold") as http:
                stack = Secured(http=http, app=app, settings=settings)
                http.headers["Authorization"] = f"Bearer {stack.token(REQUESTER, 'emitter')}"
                yield stack
    finally:
        stop.set()
        await worker


async def register_support_assistant(stack: Secured) -> dict[str, object]:
    """Register the example system; the answer comes from its workflow, run by the worker."""
    response = await stack.http.post("/api/v1/systems", json=manifest("support-assistant"))
    assert response.status_code == 201, response.text
    system: dict[str, object] = response.json()["system"]
    return system
