"""Chaos: 10 concurrent promotions while the worker is SIGKILLed twice and Temporal restarts once.

The worker runs as its own process (`python worker.py`), the Temporal dev server as a process
with file persistence (as `threshold up` runs it); the API runs in the test. Every call is
retried on 503/429 after its Retry-After with the same Idempotency-Key, as a deploy script does.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.app import create_app
from core.settings import Settings, TemporalSettings
from core.temporal import DEV_SERVER_SQLITE_ARGS, venv_binary
from db.engine import get_engine, init_db
from tests.e2e.test_promotion_tour import manifest
from tests.harness import BUSINESS, REQUESTER, ROOT, SECURITY, TECH, Stack

pytestmark = pytest.mark.devserver
SYSTEMS = 10
APPROVERS = (BUSINESS, TECH, SECURITY)
BUDGET_SECONDS = 150  # a hard stop for a stuck run; a healthy one takes well under a minute


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    """A child process that can be SIGKILLed and started again with the same arguments."""

    args: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    child: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (again), appending output to the log."""
        with self.log.open("ab") as out:
            self.child = subprocess.Popen(
                self.args, cwd=ROOT, env={**os.environ, **self.env}, stdout=out, stderr=out
            )

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, in-flight tasks are lost to the process."""
        assert self.child is not None
        self.child.send_signal(signal.SIGKILL)
        self.child.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.child is None or self.child.poll() is not None:
            return
        self.child.terminate()
        try:
            self.child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


def chaos_settings(tmp: Path, address: str) -> Settings:
    """Settings the API (here) and the worker (environment variables) share."""
    return Settings(
        data_dir=tmp,
        database_url=f"sqlite:///{tmp}/threshold.db",
        policy_file=ROOT / "policy.yaml",
        temporal=TemporalSettings(address=address, task_queue=f"chaos-{uuid.uuid4().hex[:8]}"),
    )


def worker_env(settings: Settings) -> dict[str, str]:
    """The same settings as THRESHOLD_* variables for `python worker.py`."""
    return {
        "THRESHOLD_DATA_DIR": str(settings.data_dir),
        "THRESHOLD_DATABASE_URL": settings.database_url,
        "THRESHOLD_POLICY_FILE": str(settings.policy_file),
        "THRESHOLD_TEMPORAL__ADDRESS": settings.temporal.address,
        "THRESHOLD_TEMPORAL__TASK_QUEUE": settings.temporal.task_queue,
        "THRESHOLD_LOG_LEVEL": "WARNING",
    }


async def connected(address: str) -> Client:
    """A client, once the (re)started server answers."""
    for _ in range(300):
        try:
            return await Client.connect(address, data_converter=pydantic_data_converter)
        except RuntimeError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"Temporal did not start at {address}")


@dataclass
class Caller:
    """HTTP calls that retry 503/429 like a deploy script; every status is counted."""

    stack: Stack
    statuses: Counter[int] = field(default_factory=Counter)

    async def send(self, method: str, path: str, who: str, key: str | None, **kw: Any) -> Any:
        """Send until the answer is not 503/429 (an unhandled error fails the test at once)."""
        headers = {**self.stack.as_(who), **({"Idempotency-Key": key} if key else {})}
        while True:
            answer = await self.stack.http.request(method, f"/api/v1{path}", headers=headers, **kw)
            self.statuses[answer.status_code] += 1
            if answer.status_code not in (429, 503):
                return answer
            assert "Retry-After" in answer.headers, answer.text
            await asyncio.sleep(min(float(answer.headers["Retry-After"]), 1.0))


def chaos_manifest(index: int) -> dict[str, Any]:
    """The support assistant under its own id and credential id."""
    data = manifest("support-assistant")
    system = f"chaos-{index:02d}"
    credential = {**data["credentials"][0], "id": f"{system}-crm-reader"}  # type: ignore[index]
    return {**data, "id": system, "name": f"Chaos {index}", "credentials": [credential]}


@dataclass
class Progress:
    """How far the promotions got, so the faults land mid-flight."""

    requested: int = 0
    decided: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def bump(self, what: str) -> None:
        """Count one step and wake the chaos task."""
        setattr(self, what, getattr(self, what) + 1)
        self.changed.set()

    async def reached(self, what: str, count: int) -> None:
        """Wait until `what` reached `count`."""
        while getattr(self, what) < count:
            self.changed.clear()
            await self.changed.wait()


async def promote(caller: Caller, index: int, progress: Progress) -> str:
    """Register, request promotion and collect the three approvals of one system."""
    body = chaos_manifest(index)
    system = str(body["id"])
    created = await caller.send("POST", "/systems", REQUESTER, f"reg-{system}", json=body)
    assert created.status_code == 201, created.text
    promoted = await caller.send(
        "POST", f"/systems/{system}/promotion", REQUESTER, f"promo-{system}", json={}
    )
    assert promoted.status_code == 202, promoted.text
    request_id = str(promoted.json()["system"]["pending_request"]["id"])
    progress.bump("requested")
    for who in APPROVERS:
        decided = await caller.send(
            "POST",
            f"/requests/{request_id}/decisions",
            who,
            f"decide-{system}-{who}",
            json={"approve": True},
        )
        # A retried final decision can find its request closed by its own first attempt.
        assert decided.status_code == 200 or "closed" in decided.text, decided.text
        progress.bump("decided")
    return request_id


async def in_production(caller: Caller, system: str) -> None:
    """Wait until the system's workflow reports production."""
    while True:
        shown = await caller.send("GET", f"/systems/{system}", REQUESTER, None)
        assert shown.status_code == 200, shown.text
        if shown.json()["state"] == "production":
            return
        await asyncio.sleep(0.2)


@asynccontextmanager
async def api_stack(client: Client, settings: Settings) -> AsyncIterator[Stack]:
    """The API in this process on `client`, with a token per principal."""
    init_db(get_engine(settings.database_url))
    app = create_app(settings, client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://threshold") as http:
            stack = Stack(settings=settings, client=client, http=http, app=app)
            for who in APPROVERS:
                stack.token(who, "approver")
            stack.token(REQUESTER, "emitter")
            yield stack


async def faults(server: Process, worker: Process, progress: Progress) -> list[str]:
    """Kill the worker twice and restart Temporal once, each at a point of progress."""
    done: list[str] = []
    await progress.reached("requested", 3)
    worker.kill()
    worker.start()
    done.append("worker SIGKILL 1")
    await progress.reached("decided", 6)
    server.stop()
    server.start()
    done.append("temporal restart")
    await progress.reached("decided", 15)
    worker.kill()
    worker.start()
    done.append("worker SIGKILL 2")
    return done


async def test_promotions_survive_worker_kills_and_a_temporal_restart(tmp_path: Path) -> None:
    """Every system reaches production with one decision per approver, no 500, ledger intact,
    through two worker SIGKILLs and a Temporal restart."""
    address = f"127.0.0.1:{free_port()}"
    host, port = address.split(":")
    server = Process(
        [
            str(venv_binary("temporal")), "server", "start-dev", "--ip", host, "--port", port,
            "--headless", "--db-filename", str(tmp_path / "temporal.db"), "--log-level", "error",
            *DEV_SERVER_SQLITE_ARGS,
        ],
        tmp_path / "temporal.log",
    )  # fmt: skip
    settings = chaos_settings(tmp_path, address)
    init_db(get_engine(settings.database_url))
    worker = Process(
        [sys.executable, "worker.py"], tmp_path / "worker.log", env=worker_env(settings)
    )
    server.start()
    try:
        client = await connected(address)
        worker.start()
        async with asyncio.timeout(BUDGET_SECONDS), api_stack(client, settings) as stack:
            caller, progress = Caller(stack), Progress()
            chaos = asyncio.create_task(faults(server, worker, progress))
            requests = await asyncio.gather(*(promote(caller, i, progress) for i in range(SYSTEMS)))
            systems = [str(chaos_manifest(i)["id"]) for i in range(SYSTEMS)]
            await asyncio.gather(*(in_production(caller, s) for s in systems))
            assert await chaos == ["worker SIGKILL 1", "temporal restart", "worker SIGKILL 2"]
            for request_id in requests:
                request = await caller.send("GET", f"/requests/{request_id}", REQUESTER, None)
                deciders = sorted(d["principal"] for d in request.json()["decisions"])
                assert deciders == sorted(APPROVERS), request.json()["decisions"]
            verified = await caller.send("GET", "/audit/verify", REQUESTER, None)
            assert verified.json()["ok"] is True, verified.json()
            for system in systems:
                entries = await caller.send(
                    "GET", "/audit/events", REQUESTER, None, params={"system": system}
                )
                actions = Counter(e["action"] for e in entries.json())
                assert actions["entered_production"] == 1, (system, actions)
            assert not [s for s in caller.statuses if s >= 500 and s != 503], caller.statuses
            print(f"chaos: statuses {dict(caller.statuses)}")
    finally:
        worker.stop()
        server.stop()
