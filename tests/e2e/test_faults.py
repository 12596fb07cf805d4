"""Dependency faults are answers: a 503 naming what is down, with Retry-After, in bounded time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.settings import Settings
from core.temporal import venv_binary
from db.engine import get_engine, init_db, make_engine
from tests.e2e.test_promotion_tour import manifest
from tests.harness import REQUESTER, Stack, make_settings

pytestmark = pytest.mark.devserver


@asynccontextmanager
async def api_only(client: Client, settings: Settings) -> AsyncIterator[Stack]:
    """The API app on `client` with no worker at all (as when every worker is down)."""
    init_db(get_engine(settings.database_url))
    app = create_app(settings, client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://threshold") as http:
            stack = Stack(settings=settings, client=client, http=http, app=app)
            stack.token(REQUESTER, "emitter")
            yield stack


def assert_unavailable(answer: httpx.Response, *words: str) -> None:
    """A 503 in the error shape, with Retry-After and a message naming what is down."""
    assert answer.status_code == 503, answer.text[:300]
    assert int(answer.headers["Retry-After"]) > 0
    message = answer.json()["error"]["message"]
    for word in words:
        assert word in message, message


async def test_no_worker_polling_is_a_503_naming_the_task_queue(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """With no worker on the task queue, show and promote answer 503 naming the queue."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path, rpc_timeout=1.0)
    queue = settings.temporal.task_queue
    async with api_only(dev_env.client, settings) as stack:
        registered = await stack.call(
            "POST", "/systems", REQUESTER, json=manifest("support-assistant")
        )
        assert registered.status_code == 201, registered.text
        system = registered.json()["system"]["system_id"]
        assert_unavailable(
            await stack.call("GET", f"/systems/{system}", REQUESTER), "no worker", queue
        )
        promote = await stack.call("POST", f"/systems/{system}/promotion", REQUESTER, json={})
        assert_unavailable(promote, "no worker", queue)


async def test_a_stopped_temporal_is_a_503_naming_temporal(tmp_path: Path) -> None:
    """After the Temporal server the API is connected to stops, reads and writes answer 503."""
    server = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(venv_binary("temporal")),
        dev_server_log_level="error",
    )
    client = server.client
    address = client.service_client.config.target_host
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path, rpc_timeout=1.0)
    settings.temporal.address = address
    async with api_only(client, settings) as stack:
        await server.shutdown()
        assert_unavailable(
            await stack.call("GET", "/systems/support-assistant", REQUESTER), "Temporal"
        )
        registered = await stack.call(
            "POST", "/systems", REQUESTER, json=manifest("support-assistant")
        )
        assert_unavailable(registered, "Temporal", address)


async def test_a_database_that_cannot_be_reached_is_a_503_naming_the_database(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A projection read on a database that refuses connections answers 503 'database'."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    async with api_only(dev_env.client, settings) as stack:
        assert stack.app is not None
        stack.app.state.engine = make_engine("postgresql://nobody@127.0.0.1:9/none")
        assert_unavailable(await stack.call("GET", "/systems", REQUESTER), "database")
