"""`threshold slack manifest`: the Slack app manifest an admin pastes to create the app."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
import yaml

from cli.client import CliError

app = typer.Typer(help="Slack app setup.", no_args_is_help=True)

BOT_SCOPES = (
    "chat:write",  # post and update approval messages, ephemeral refusals
    "im:write",  # open the direct message with each approver
    "users:read",  # users.info: who clicked
    "users:read.email",  # users.lookupByEmail / the clicker's email = their principal
)
INTERACTIONS_PATH = "/slack/interactions"
APP_NAME_LIMIT = 35  # Slack refuses a manifest whose display_information.name is longer


def slack_manifest(base_url: str, name: str) -> dict[str, Any]:
    """The app manifest: bot user, the scopes Threshold uses, interactivity at `base_url`."""
    parts = urlsplit(base_url)
    if parts.scheme != "https" or not parts.netloc:
        raise CliError(
            f"--url {base_url!r} must be the public https:// address Slack can reach, "
            "e.g. https://threshold.example.com"
        )
    if not name.strip() or len(name) > APP_NAME_LIMIT:
        raise CliError(
            f"--name {name!r} is {len(name)} characters; Slack allows an app name of 1 to "
            f"{APP_NAME_LIMIT} characters: pass a shorter --name"
        )
    root = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    return {
        "display_information": {
            "name": name,
            "description": "Approve AI-system promotions and changes with a click.",
            "background_color": "#1f2937",
        },
        "features": {"bot_user": {"display_name": name, "always_online": True}},
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "interactivity": {"is_enabled": True, "request_url": root + INTERACTIONS_PATH},
            "org_deploy_enabled": False,
            "socket_mode_enabled": False,
            "token_rotation_enabled": False,
        },
    }


@app.command("manifest")
def manifest(
    url: Annotated[
        str,
        typer.Option(
            "--url", help="Public https:// base URL of the Threshold API.", show_default=False
        ),
    ],
    name: Annotated[str, typer.Option(help="App and bot name shown in Slack.")] = "Threshold",
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of YAML.")] = False,
) -> None:
    """Print a Slack app manifest: paste it at api.slack.com/apps → Create New App."""
    document = slack_manifest(url, name)
    if as_json:
        typer.echo(json.dumps(document, indent=2))
    else:
        typer.echo(yaml.safe_dump(document, sort_keys=False), nl=False)
