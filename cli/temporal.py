"""`threshold temporal check`: connect with this machine's Temporal settings and say how it went.

It uses the same `THRESHOLD_TEMPORAL__*` settings (and envconfig profile) as the worker and the
API, so an operator can prove TLS, mTLS or an API key work before starting either.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import typer

from cli import render
from cli.client import CliError
from cli.options import JsonOpt

app = typer.Typer(help="The Temporal connection (admin).", no_args_is_help=True)


async def _check() -> dict[str, Any]:
    """Connect, ask the server for its capabilities, and report what was used."""
    settings = importlib.import_module("core.settings").get_settings()
    temporal = importlib.import_module("core.temporal")
    try:
        client = await temporal.connect(settings)
        await client.service_client.check_health()
    except temporal.TemporalConnectError as exc:
        raise CliError(str(exc)) from None
    options = temporal.connect_options(settings)
    return {
        "address": options["target_host"],
        "namespace": client.namespace,
        "tls": bool(options.get("tls")),
        "api_key": "api_key" in options,
        "encryption": client.data_converter.payload_codec is not None,
    }


@app.command("check")
def check(as_json: JsonOpt = False) -> None:
    """Connect to Temporal as the worker would; exit 0 when it answers, 2 with the cause if not."""
    try:
        report = asyncio.run(_check())
    except ModuleNotFoundError as exc:
        raise CliError(
            f"`threshold temporal` is not available in this installation: {exc}"
        ) from None
    if as_json:
        render.echo_json(report)
        return
    on = {True: "on", False: "off"}
    render.say(f"Temporal at {report['address']} answers (namespace {report['namespace']})", "bold")
    render.say(
        f"  TLS {on[report['tls']]}, API key {on[report['api_key']]}, "
        f"payload encryption {on[report['encryption']]}"
    )
