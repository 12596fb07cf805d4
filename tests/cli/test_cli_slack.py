"""`threshold slack manifest`: a Slack app manifest an admin can paste as it is."""

from __future__ import annotations

import json

import yaml

from cli.slack import BOT_SCOPES


def test_manifest_points_slack_at_the_interactions_endpoint(cli):
    """The manifest is YAML with a bot user, the scopes used, and our real interactions route."""
    result = cli("slack", "manifest", "--url", "https://gov.example.com/")
    assert result.exit_code == 0, result.output
    manifest = yaml.safe_load(result.stdout)
    request_url = manifest["settings"]["interactivity"]["request_url"]
    assert request_url == "https://gov.example.com/slack/interactions"
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["bot_user"]["display_name"] == "Threshold"
    assert set(manifest["oauth_config"]["scopes"]["bot"]) >= {"chat:write", "users:read.email"}


def test_manifest_as_json_with_a_custom_name(cli):
    """--json prints the same document as JSON; --name renames the app and its bot."""
    result = cli("slack", "manifest", "--url", "https://gov.example.com", "--json", "--name", "Gov")
    manifest = json.loads(result.stdout)
    assert manifest["display_information"]["name"] == "Gov"
    assert manifest["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)


def test_manifest_refuses_an_address_slack_cannot_call(cli):
    """Slack only calls https URLs: http or a bare host exits 2 and says what to pass."""
    result = cli("slack", "manifest", "--url", "http://localhost:8000")
    assert result.exit_code == 2
    assert "https://" in result.stderr


def test_manifest_refuses_an_app_name_slack_would_reject(cli):
    """An app name over Slack's 35-character limit exits 2 naming the limit; 35 is accepted."""
    long_name = "Threshold AI change control approvals"  # 37 characters
    result = cli("slack", "manifest", "--url", "https://gov.example.com", "--name", long_name)
    assert result.exit_code == 2
    assert "35 characters" in result.stderr and "--name" in result.stderr
    fits = cli("slack", "manifest", "--url", "https://gov.example.com", "--name", "x" * 35)
    assert fits.exit_code == 0, fits.output
