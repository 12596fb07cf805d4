"""The `threshold` command: global options, the command tree, and a clean process exit."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from cli import (
    actions,
    approvals,
    audit,
    authorize,
    credentials,
    events,
    exceptions,
    lifecycle,
    policy,
    render,
    slack,
    systems,
    temporal,
    tickets,
    tokens,
    webhooks,
)
from cli.about import show_version
from cli.client import DEFAULT_URL, OK, USAGE, CliError, Options
from cli.server import DEV_SERVER_INSTALL, server_module

INTERRUPTED = 130


class ThresholdGroup(TyperGroup):
    """The root group: prints a `CliError` (no traceback) and exits with its code."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; map errors to the exit codes deploy scripts branch on."""
        try:
            return super().invoke(ctx)
        except CliError as exc:
            render.error(exc)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(INTERRUPTED) from None


app = typer.Typer(
    cls=ThresholdGroup,
    name="threshold",
    help="Change control for AI systems: register, promote, approve, gate, audit.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, pwsh)
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    url: Annotated[
        str, typer.Option("--url", envvar="THRESHOLD_URL", help="Threshold API base URL.")
    ] = DEFAULT_URL,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="THRESHOLD_TOKEN",
            help="Bearer token (default: .threshold/admin-token).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Change control for AI systems: register, promote, approve, gate, audit."""
    ctx.obj = Options(url=url, token=token)


PortOpt = Annotated[int | None, typer.Option(min=1, max=65535, show_default=False)]


@app.command("up")
def up(
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Where state lives.", show_default=False)
    ] = None,
    api_port: PortOpt = None,
    temporal_port: PortOpt = None,
    ui_port: PortOpt = None,
    api_processes: Annotated[
        int, typer.Option("--api-processes", min=1, help="API processes sharing the port.")
    ] = 1,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Worker processes on the task queue.")
    ] = 1,
) -> None:
    """Start everything on this machine: Temporal dev server, worker and API processes."""
    # By name, when it runs: the server stack loads only for `up` (cli/server.py).
    up_main = server_module("core.up", "up", DEV_SERVER_INSTALL).main
    status = up_main(
        data_dir=data_dir,
        api_port=api_port,
        temporal_port=temporal_port,
        ui_port=ui_port,
        api_processes=api_processes,
        workers=workers,
    )
    if isinstance(status, int) and status:
        raise typer.Exit(status)


app.add_typer(systems.app, name="systems")
lifecycle.install(app)
approvals.install(app)
events.install(app)
tickets.install(app)
app.add_typer(credentials.app, name="credentials")
app.add_typer(actions.app, name="actions")
app.command("trace")(actions.trace)
app.command("authorize")(authorize.authorize)
app.command("await-approval")(authorize.await_approval)
app.add_typer(audit.app, name="audit")
app.add_typer(tokens.app, name="tokens")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(slack.app, name="slack")
app.add_typer(exceptions.app, name="exceptions")
app.add_typer(policy.app, name="policy")
app.add_typer(temporal.app, name="temporal")


def exit_status(code: Any) -> int:
    """The integer status a `SystemExit` code stands for."""
    if code is None:
        return OK
    return code if isinstance(code, int) else USAGE


def run(argv: Sequence[str] | None = None) -> int:
    """Run the app and return its exit status; unexpected errors print one line, no traceback."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="threshold")
    except SystemExit as exc:
        return exit_status(exc.code)
    except Exception as exc:
        typer.echo(f"error: unexpected {type(exc).__name__}: {exc}", err=True)
        return USAGE
    return OK


def main() -> None:
    """Console-script entry point: run, flush, and leave with `os._exit` (Temporal threads can abort shutdown)."""
    status = run()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)
