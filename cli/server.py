"""The server stack, for the few commands that run it or talk to Temporal or the database.

Every other command is HTTP to the API and imports none of it, so the light `threshold-cli`
install (no FastAPI, uvicorn, sqlmodel or temporalio) runs them. A command that needs the
server imports its module here, when it runs, and gets one clear line when it is missing.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from cli.client import CliError

SERVER_INSTALL = "pip install threshold"
DEV_SERVER_INSTALL = "pip install 'threshold[dev-server]'"


def server_module(name: str, command: str, install: str = SERVER_INSTALL) -> ModuleType:
    """Import `name` for `threshold <command>`, or fail naming the install it needs."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise CliError(
            f"`threshold {command}` needs the server install (missing {exc.name}): {install} "
            "(the threshold-cli package only talks to a Threshold API)"
        ) from None
