"""Child processes of `threshold up` and the bench: start them, watch them, stop them all.

Each child runs in its own session (a terminal's Ctrl-C reaches only the supervisor, which
stops the children in order) and is stopped by stage, last started first: the API processes,
then the workers (they drain in-flight activities), then the Temporal dev server. A child that
ignores its stop signal is killed with its whole process group after `timeout` seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import IO

from pydantic import BaseModel, SecretStr
from pydantic_core import to_json, to_jsonable_python

from core.settings import Settings

ENV_PREFIX = "THRESHOLD_"
OVERRIDDEN = ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE")  # worker.py honours them; `up` does not


class Stage(IntEnum):
    """Start order; children stop in the reverse order."""

    TEMPORAL = 0
    WORKER = 1
    API = 2


class ChildExited(Exception):
    """A supervised process ended while it should have been running."""


@dataclass
class Child:
    """One supervised process."""

    name: str
    stage: Stage
    process: subprocess.Popen[bytes]
    log: Path | None = None

    def describe_exit(self) -> str:
        """One line naming the child, how it ended and where its output went."""
        code = self.process.returncode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited {code}"
        where = f"; see {self.log}" if self.log else ""
        return f"the {self.name} (pid {self.process.pid}) {how}{where}"


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as `THRESHOLD_*` variables, so a child process reads exactly these."""
    env: dict[str, str] = {}
    for name in type(settings).model_fields:
        _flatten(env, f"{ENV_PREFIX}{name.upper()}", getattr(settings, name))
    return env


def _flatten(env: dict[str, str], key: str, value: object) -> None:
    """Add one setting (a nested section becomes `KEY__FIELD` variables)."""
    if value is None:
        return
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _flatten(env, f"{key}__{name.upper()}", getattr(value, name))
        return
    if isinstance(value, SecretStr):
        env[key] = value.get_secret_value()
    elif isinstance(value, list | tuple | set | frozenset | dict):
        env[key] = to_json(value).decode()  # pydantic-settings parses complex values as JSON
    else:  # str, numbers, booleans, paths, enums, durations: their JSON form, unquoted
        plain = to_jsonable_python(value)
        env[key] = plain if isinstance(plain, str) else json.dumps(plain)


def child_env(settings: Settings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child: ours, with every Threshold setting replaced by `settings`."""
    env = {
        key: value
        for key, value in (base if base is not None else os.environ).items()
        if not key.startswith(ENV_PREFIX) and key not in OVERRIDDEN
    }
    return env | settings_env(settings)


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP listening socket that child API processes inherit and all accept on.

    Created with proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only for
    such sockets, and without it a response waits ~40 ms for a delayed ACK.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    """Starts children, reports the first that dies, and stops them all (never orphans)."""

    def __init__(self, timeout: float = 15.0) -> None:
        self.children: list[Child] = []
        self.timeout = timeout

    def start(
        self,
        name: str,
        stage: Stage,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        log: Path | None = None,
        pass_fds: Sequence[int] = (),
    ) -> Child:
        """Start one child in its own session; its output goes to `log` or to ours."""
        output: IO[bytes] | None = log.open("ab") if log else None
        try:
            process = subprocess.Popen(
                list(args),
                env=dict(env) if env is not None else None,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                start_new_session=True,
                pass_fds=tuple(pass_fds),
            )
        finally:
            if output:
                output.close()
        child = Child(name, stage, process, log)
        self.children.append(child)
        return child

    def check(self) -> None:
        """Raise `ChildExited` naming the first child that is no longer running."""
        for child in self.children:
            if child.process.poll() is not None:
                raise ChildExited(child.describe_exit())

    def pids(self, stage: Stage | None = None) -> list[int]:
        """Process ids of the children (of one stage)."""
        return [c.process.pid for c in self.children if stage is None or c.stage == stage]

    def stop(self) -> None:
        """Stop every child, stage by stage from the last started; kill what does not stop."""
        for stage in sorted({c.stage for c in self.children}, reverse=True):
            group = [c for c in self.children if c.stage == stage]
            for child in group:
                if child.process.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        child.process.send_signal(signal.SIGTERM)
            for child in group:
                self._reap(child)
        self.children.clear()

    def _reap(self, child: Child) -> None:
        """Wait for a child to exit, then make sure nothing of its process group survives."""
        try:
            child.process.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            print(f"{child.name} did not stop in {self.timeout:g} s; killing it", file=sys.stderr)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.process.pid, signal.SIGKILL)
        child.process.wait()
