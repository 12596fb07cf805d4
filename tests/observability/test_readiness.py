"""/readyz answers for the database, Temporal and the worker; /healthz stays a liveness check."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.readiness import Readiness
from core.settings import ObservabilitySettings, Settings
from db.engine import get_engine
from tests.e2e.test_promotion_tour import eventually
from tests.harness import make_settings, running_stack

pytestmark = pytest.mark.devserver


@asynccontextmanager
async def api_only(
    settings: Settings, client: Client
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The API app for `settings` with no worker anywhere on its task queue."""
    app = create_app(settings, client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://threshold") as http:
            yield app, http


def closed_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_ready_when_database_temporal_and_a_worker_answer(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """With a worker polling the task queue, /readyz answers 200 and every check is ok."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    settings.observability = ObservabilitySettings(readiness_cache_seconds=0)
    async with running_stack(dev_env.client, settings) as stack:

        async def ready() -> httpx.Response | None:
            answer = await stack.http.get("/readyz")
            return answer if answer.status_code == 200 else None

        answer = await eventually(ready) or await stack.http.get("/readyz")  # first polls land
        health = await stack.http.get("/healthz")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ready"] is True
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "temporal": True,
        "worker": True,
    }
    assert health.status_code == 200 and health.json() == {"ok": True}


async def test_not_ready_names_the_worker_when_none_polls(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Without a worker on the task queue, /readyz answers 503 naming the worker, with Retry-After."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    async with api_only(settings, dev_env.client) as (_, http):
        answer = await http.get("/readyz")
        health = await http.get("/healthz")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    body = answer.json()
    assert body["ready"] is False
    assert [p["field"] for p in body["error"]["problems"]] == ["worker"]
    assert settings.temporal.task_queue in body["checks"]["worker"]["detail"]
    assert body["checks"]["temporal"]["ok"] is True
    assert health.status_code == 200  # liveness does not depend on the worker


async def test_not_ready_names_temporal_when_its_port_is_closed(tmp_path: Path) -> None:
    """A client pointed at a closed port makes /readyz answer 503 naming temporal."""
    address = f"127.0.0.1:{closed_port()}"
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path, address=address)
    client = await Client.connect(address, lazy=True, data_converter=pydantic_data_converter)
    async with api_only(settings, client) as (_, http):
        answer = await http.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["checks"]["temporal"]["ok"] is False
    assert address in body["checks"]["temporal"]["detail"]
    assert body["checks"]["database"]["ok"] is True
    assert "temporal" in body["error"]["message"]


async def test_not_ready_names_the_database_when_its_url_is_broken(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """An API whose database URL points at nothing answers 503 naming the database."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    broken = get_engine(f"postgresql://threshold:hunter2@127.0.0.1:{closed_port()}/threshold")
    async with api_only(settings, dev_env.client) as (app, http):
        app.state.readiness = Readiness(broken, dev_env.client, settings)  # the database is gone
        answer = await http.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["checks"]["database"]["ok"] is False
    assert "database" in [p["field"] for p in body["error"]["problems"]]
    assert "hunter2" not in answer.text
