"""`threshold policy apply`: send the current policy file to every running system."""

from __future__ import annotations

import typer

from cli import render
from cli.client import connect
from cli.options import JsonOpt, KeyOpt

app = typer.Typer(help="The governance policy.", no_args_is_help=True)


@app.command("apply")
def apply(ctx: typer.Context, key: KeyOpt = None, as_json: JsonOpt = False) -> None:
    """Apply policy.yaml to running systems: pending recertification deadlines move (admin)."""
    result = connect(ctx).post("/policy/apply", None, key=key)
    if as_json:
        render.echo_json(result)
        return
    render.say(f"policy {result.get('policy')} applied", "bold")
    for system_id, message in sorted(result.get("systems", {}).items()):
        render.say(f"  {system_id}: {message}")
