"""`threshold up`: the Temporal dev server, worker processes and API processes, supervised.

The API and the worker are separate processes (`python -m core.serve`), as in any deployment:
one GIL no longer serialises HTTP and workflow tasks. `--api-processes N` API processes share
one listening socket; `--workers N` workers poll one task queue. A process that dies stops
`up` with status 1 naming it; Ctrl-C stops everything, API first, then workers, then Temporal.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from core.logging import configure_logging
from core.settings import Settings, get_settings
from core.supervisor import Child, ChildExited, Stage, Supervisor, child_env, listening_socket
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


def start_temporal(supervisor: Supervisor, settings: Settings) -> Child:
    """Start the embedded dev server with file persistence under the data directory."""
    host, port = split_address(settings.temporal.address)
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
    log = settings.data_dir / "temporal.log"
    return supervisor.start("Temporal dev server", Stage.TEMPORAL, args, log=log)


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


async def wait_for_temporal(settings: Settings, supervisor: Supervisor) -> None:
    """Retry connecting until the server answers (or the dev server died, or a setting is wrong)."""
    last: TemporalConnectError | None = None
    for _ in range(300):
        supervisor.check()
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


def banner(settings: Settings, token_path: Path, layout: Layout) -> str:
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
            f"  Processes  {layout.api_processes} API, {layout.workers} worker"
            f"   (--api-processes, --workers)",
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


def start_processes(
    supervisor: Supervisor, settings: Settings, sock: socket.socket, layout: Layout
) -> None:
    """The worker processes, then the API processes accepting on `sock`."""
    env = child_env(settings)
    serve = [sys.executable, "-m", "core.serve"]
    parent = ["--parent", str(os.getpid())]
    for n in range(1, layout.workers + 1):
        supervisor.start(f"worker process {n}", Stage.WORKER, [*serve, "worker", *parent], env=env)
    fd = sock.fileno()
    for n in range(1, layout.api_processes + 1):
        args = [*serve, "api", "--fd", str(fd), *parent]
        supervisor.start(f"API process {n}", Stage.API, args, env=env, pass_fds=[fd])


def wait_for_api(supervisor: Supervisor, settings: Settings, timeout: float = 120.0) -> None:
    """Poll /healthz until the API answers; a child that dies meanwhile stops the wait."""
    host = "127.0.0.1" if settings.api.host in ("0.0.0.0", "") else settings.api.host  # noqa: S104
    url = f"http://{host}:{settings.api.port}/healthz"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        supervisor.check()
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the API did not answer at {url} within {timeout:g}s")


class Stopping(Exception):
    """SIGINT or SIGTERM reached `threshold up`."""


def _stopping(_signum: int, _frame: object) -> None:
    raise Stopping


def supervise(supervisor: Supervisor, settings: Settings, layout: Layout) -> None:
    """Start the workers and the API, print the banner, and watch until a stop or a death."""
    sock = listening_socket(settings.api.host, settings.api.port)
    try:
        start_processes(supervisor, settings, sock, layout)
        wait_for_api(supervisor, settings)
        print(banner(settings, settings.data_dir / "admin-token", layout), flush=True)
        while True:
            supervisor.check()
            time.sleep(0.5)
    finally:
        sock.close()


@dataclass(frozen=True)
class Layout:
    """How many API and worker processes `up` runs."""

    api_processes: int = 1
    workers: int = 1

    @classmethod
    def from_overrides(cls, overrides: dict[str, object]) -> Layout:
        """The layout from `up`'s options (1 and 1 by default)."""
        api = overrides.get("api_processes") or 1
        workers = overrides.get("workers") or 1
        return cls(api_processes=int(str(api)), workers=int(str(workers)))


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
    update["data_dir"] = Path(str(update.get("data_dir", settings.data_dir))).absolute()
    merged = settings.model_copy(update=update)
    if (
        "data_dir" in overrides
        and overrides["data_dir"]
        and not os.environ.get("THRESHOLD_DATABASE_URL")
    ):
        merged.database_url = f"sqlite:///{(merged.data_dir / 'threshold.db').as_posix()}"
    return merged


def main(**overrides: object) -> int:
    """Start everything; returns the exit status (0 stopped, 1 a process died, 2 setup)."""
    settings = apply_overrides(get_settings(), **overrides)
    layout = Layout.from_overrides(overrides)
    configure_logging(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor()
    previous = {sig: signal.signal(sig, _stopping) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        check_port(settings.api.host, settings.api.port, "THRESHOLD_API__PORT (or --api-port)")
        if settings.temporal.embedded:
            host, port = split_address(settings.temporal.address)
            check_port(host, port, "THRESHOLD_TEMPORAL__ADDRESS (or --temporal-port)")
            check_port(
                host, settings.temporal.ui_port, "THRESHOLD_TEMPORAL__UI_PORT (or --ui-port)"
            )
            start_temporal(supervisor, settings)
        init_db(get_engine(settings.database_url))
        ensure_admin_token(settings)
        asyncio.run(wait_for_temporal(settings, supervisor))
        supervise(supervisor, settings, layout)
        return 0
    except ChildExited as exc:
        print(f"threshold up: {exc}; stopping the others", file=sys.stderr, flush=True)
        return 1
    except (PortBusy, RuntimeError, FileNotFoundError) as exc:
        print(f"threshold up: {exc}", file=sys.stderr, flush=True)
        return 2
    except (Stopping, KeyboardInterrupt):
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if supervisor.children:
            supervisor.stop()
            print("Threshold stopped.", flush=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
