"""The production wiring under test: `run_worker` and `create_app` each connect from settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlmodel import Session

from api.app import create_app
from core.settings import Settings
from db.engine import get_engine, init_db
from db.tokens import issue_token
from tests.e2e.test_promotion_tour import manifest
from worker import run_worker

REQUESTER = "rita.requester@example.com"


@asynccontextmanager
async def production_stack(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A worker and the API, both connecting with `settings`; yields an authenticated client."""
    init_db(get_engine(settings.database_url))
    with Session(get_engine(settings.database_url)) as session:
        _, token = issue_token(session, principal=REQUESTER, role="emitter")
        session.commit()
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, stop))
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://threshold", headers=headers
            ) as http:
                yield http
    finally:
        stop.set()
        await worker


async def register_support_assistant(http: httpx.AsyncClient) -> dict[str, object]:
    """Register the example system; the answer comes from its workflow, run by the worker."""
    response = await http.post("/api/v1/systems", json=manifest("support-assistant"))
    assert response.status_code == 201, response.text
    system: dict[str, object] = response.json()["system"]
    return system
