"""`python -m core.serve worker|api`: one worker or one API process, as `threshold up` runs them.

Settings come from the environment (`THRESHOLD_*`). Both stop gracefully on SIGTERM as on
Ctrl-C (the worker drains in-flight activities), and on Linux a child dies with its parent, so
even a killed `threshold up` leaves no process behind. `api --fd N` serves a listening socket
inherited from the parent, so N API processes accept on one port; `api --port P` binds its own.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import socket
import sys
from collections.abc import Sequence
from typing import Any

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Ask Linux to send SIGTERM when the parent exits (no orphans); elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def interrupt(_signum: int, _frame: Any) -> None:
    """SIGTERM as Ctrl-C: asyncio cancels the main task and the worker shuts down gracefully."""
    os.kill(os.getpid(), signal.SIGINT)


def run_worker() -> None:
    """A worker process (worker.py's entry point), stopping gracefully on SIGTERM."""
    signal.signal(signal.SIGTERM, interrupt)
    import worker

    worker.main()


def run_api(fd: int | None, host: str | None, port: int | None) -> None:
    """An API process: the FastAPI app under uvicorn on an inherited or own socket."""
    import uvicorn

    from api.app import create_app
    from core.logging import configure_logging
    from core.runtime import tune_gc
    from core.settings import get_settings
    from core.supervisor import listening_socket
    from core.up import KEEP_ALIVE_SECONDS

    settings = get_settings()
    if fd is not None:
        sock = socket.socket(fileno=fd)
    else:
        sock = listening_socket(host or settings.api.host, port or settings.api.port)
    config = uvicorn.Config(
        create_app(settings),
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    configure_logging(settings)  # after uvicorn.Config, which sets up uvicorn's own loggers
    server = uvicorn.Server(config)
    tune_gc()
    # uvicorn shuts down on SIGTERM/SIGINT, then re-raises the signal to the handler that was
    # there before: after a graceful stop the process exits 0, not "killed by SIGTERM".
    signal.signal(signal.SIGTERM, lambda _signum, _frame: None)
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
    status = 0 if server.started else 3  # 3: the lifespan failed (Temporal or the database)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # the Temporal bridge can abort interpreter finalisation (DESIGN pitfalls)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the role and run it."""
    parser = argparse.ArgumentParser(prog="python -m core.serve", description=__doc__)
    parser.add_argument("role", choices=("worker", "api"))
    parser.add_argument("--fd", type=int, help="an inherited listening socket (api)")
    parser.add_argument("--host", help="bind address when no --fd (api)")
    parser.add_argument("--port", type=int, help="port when no --fd (api)")
    parser.add_argument("--parent", type=int, help="die when this process exits")
    args = parser.parse_args(argv)
    if args.parent:
        die_with_parent(args.parent)
    if args.role == "worker":
        run_worker()
    else:
        run_api(args.fd, args.host, args.port)


if __name__ == "__main__":
    main()
