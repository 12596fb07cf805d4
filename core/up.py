"""`threshold up`: the Temporal dev server, the worker and the API in one process tree."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import uvicorn
from sqlmodel import Session

from core.runtime import tune_gc
from core.settings import Settings, get_settings
from core.temporal import DEV_SERVER_SQLITE_ARGS, TemporalConnectError, connect, venv_binary
from db.engine import get_engine, init_db
from db.tokens import issue_token

ADMIN_PRINCIPAL = "admin@threshold.local"


class PortBusy(Exception):
    """A port Threshold needs is taken."""


def check_port(host: str, port: int, setting: str) -> None:
    """Fail with one line naming the port and the setting to change if it is in use."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise PortBusy(
                f"port {port} on {host} is already in use; set {setting} to another port"
            ) from None


def split_address(address: str) -> tuple[str, int]:
    """Host and port of a `host:port` address."""
    host, _, port = address.rpartition(":")
    return host or "127.0.0.1", int(port)


KEEP_ALIVE_SECONDS = 30
"""Idle keep-alive connections close after this; longer than clients' own idle expiry (httpx:
5 s), so a client never sends on a connection the server is closing (a read error under load)."""


def start_temporal(settings: Settings) -> subprocess.Popen[bytes]:
    """Start the embedded dev server with file persistence under the data directory."""
    host, port = split_address(settings.temporal.address)
    log = (settings.data_dir / "temporal.log").open("ab")
    args = [
        str(venv_binary("temporal")),
        "server",
        "start-dev",
        "--ip",
        host,
        "--port",
        str(port),
        "--ui-port",
        str(settings.temporal.ui_port),
        "--db-filename",
        str(settings.data_dir / "temporal.db"),
        "--namespace",
        settings.temporal.namespace,
        "--log-level",
        "warn",
        *DEV_SERVER_SQLITE_ARGS,
    ]
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def ensure_admin_token(settings: Settings) -> Path:
    """Write a local admin token once (mode 0600); later starts keep it."""
    path = settings.data_dir / "admin-token"
    if path.exists():
        return path
    with Session(get_engine(settings.database_url)) as session:
        _, token = issue_token(
            session, principal=ADMIN_PRINCIPAL, role="admin", label="threshold up"
        )
        session.commit()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return path


async def wait_for_temporal(settings: Settings, process: subprocess.Popen[bytes] | None) -> None:
    """Retry connecting until the server answers (or the process died, or a setting is wrong)."""
    last: TemporalConnectError | None = None
    for _ in range(300):
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"the Temporal dev server exited; see {settings.data_dir / 'temporal.log'}"
            )
        try:
            await connect(settings)
            return
        except TemporalConnectError as exc:
            if not exc.retryable:
                raise  # a TLS, key or settings problem: waiting will not fix it
            last = exc
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{last} (still failing after 60s)" if last else "Temporal did not answer")


def tickets_target(settings: Settings) -> str:
    """Where change-request tickets go: Jira, or the local tracker."""
    jira = settings.jira
    if jira.url:
        return f"Jira {jira.url} project {jira.project}"
    return "local tracker (threshold tickets); set THRESHOLD_JIRA__URL for Jira"


def banner(settings: Settings, token_path: Path) -> str:
    """What `up` prints once everything is listening."""
    ui = (
        f"http://127.0.0.1:{settings.temporal.ui_port}"
        if settings.temporal.embedded
        else "(external)"
    )
    return "\n".join(
        [
            "Threshold is up.",
            f"  API        {settings.api_url}/api/v1   (OpenAPI: {settings.api_url}/docs)",
            f"  Dashboard  {settings.api_url}/   (sign in with a token)",
            f"  Temporal   {settings.temporal.address}   namespace {settings.temporal.namespace}",
            f"  Temporal UI {ui}",
            f"  Database   {settings.database_url}",
            f"  Tickets    {tickets_target(settings)}",
            f"  Admin token in {token_path} (mode 0600): export THRESHOLD_TOKEN=$(cat {token_path})",
            "  Issue tokens: threshold tokens issue --principal you@example.com --role approver",
            "Press Ctrl-C to stop.",
        ]
    )


async def serve(settings: Settings) -> None:
    """Run worker and API until interrupted."""
    from api.app import create_app
    from core.logging import configure_logging
    from worker import run_worker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    client = await connect(settings)
    config = uvicorn.Config(
        create_app(settings, client),
        host=settings.api.host,
        port=settings.api.port,
        log_level="warning",
        lifespan="on",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    configure_logging(settings)  # after uvicorn.Config, which sets up uvicorn's own loggers
    server = uvicorn.Server(config)
    tune_gc()
    worker = asyncio.create_task(run_worker(settings, stop))
    api = asyncio.create_task(server.serve())
    while not server.started and not api.done():
        await asyncio.sleep(0.05)
    print(banner(settings, settings.data_dir / "admin-token"), flush=True)
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({api, worker, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    server.should_exit = True
    await asyncio.gather(api, worker, stopping, return_exceptions=True)


def apply_overrides(settings: Settings, **overrides: object) -> Settings:
    """Settings with CLI options (data dir and ports) applied."""
    update: dict[str, object] = {}
    if overrides.get("data_dir"):
        update["data_dir"] = Path(str(overrides["data_dir"]))
    if overrides.get("api_port"):
        update["api"] = settings.api.model_copy(update={"port": overrides["api_port"]})
    temporal: dict[str, object] = {}
    if overrides.get("temporal_port"):
        host, _ = split_address(settings.temporal.address)
        temporal["address"] = f"{host}:{overrides['temporal_port']}"
    if overrides.get("ui_port"):
        temporal["ui_port"] = overrides["ui_port"]
    if temporal:
        update["temporal"] = settings.temporal.model_copy(update=temporal)
    merged = settings.model_copy(update=update)
    if "data_dir" in update and not os.environ.get("THRESHOLD_DATABASE_URL"):
        merged.database_url = f"sqlite:///{(merged.data_dir / 'threshold.db').as_posix()}"
    return merged


def main(**overrides: object) -> int:
    """Start everything; returns the exit status."""
    settings = apply_overrides(get_settings(), **overrides)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    process = None
    try:
        check_port(settings.api.host, settings.api.port, "THRESHOLD_API__PORT (or --api-port)")
        if settings.temporal.embedded:
            host, port = split_address(settings.temporal.address)
            check_port(host, port, "THRESHOLD_TEMPORAL__ADDRESS (or --temporal-port)")
            check_port(
                host, settings.temporal.ui_port, "THRESHOLD_TEMPORAL__UI_PORT (or --ui-port)"
            )
            process = start_temporal(settings)
        init_db(get_engine(settings.database_url))
        ensure_admin_token(settings)
        asyncio.run(wait_for_temporal(settings, process))
        asyncio.run(serve(settings))
        return 0
    except (PortBusy, RuntimeError, FileNotFoundError) as exc:
        print(f"threshold up: {exc}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        return 0
    finally:
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            print("Threshold stopped.", flush=True)
