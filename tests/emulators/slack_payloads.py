"""Requests Slack sends to an app: signatures and interaction payloads in wire format."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

TEAM_ID = "T0EMULATE"
APP_ID = "A0EMULATE"


def sign_slack_request(
    signing_secret: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """Return the X-Slack-Request-Timestamp and X-Slack-Signature headers Slack would send."""
    ts = int(time.time()) if timestamp is None else timestamp
    base = b"v0:" + str(ts).encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def form_body(payload: dict[str, Any]) -> bytes:
    """Encode an interaction payload as Slack posts it: a form with one `payload` field."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def _user(user_id: str, username: str | None) -> dict[str, str]:
    """Return the `user` object of an interaction payload."""
    name = username or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}


def block_actions_payload(
    user_id: str,
    action_id: str,
    value: str,
    message_ts: str,
    channel_id: str,
    trigger_id: str = "13345224609.738474920.8088930838d88f008e0",
    response_url: str = "https://hooks.slack.com/actions/T0EMULATE/1/emulated",
    *,
    block_id: str = "actions",
    username: str | None = None,
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the payload Slack posts when a user clicks a button in a message."""
    return {
        "type": "block_actions",
        "user": _user(user_id, username),
        "api_app_id": APP_ID,
        "token": "verification-token-is-deprecated",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id,
        "team": {"id": TEAM_ID, "domain": "emulated"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "directmessage"},
        "message": message or {"type": "message", "ts": message_ts, "text": ""},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [_button_action(action_id, block_id, value)],
    }


def _button_action(action_id: str, block_id: str, value: str) -> dict[str, Any]:
    """Return one entry of `actions` for a clicked button."""
    return {
        "action_id": action_id,
        "block_id": block_id,
        "text": {"type": "plain_text", "text": action_id, "emoji": True},
        "value": value,
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }


def _state_values(values: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Wrap plain strings as plain_text_input element states; pass dicts through."""
    return {
        block_id: {
            action_id: (
                {"type": "plain_text_input", "value": state}
                if isinstance(state, str) or state is None
                else state
            )
            for action_id, state in actions.items()
        }
        for block_id, actions in values.items()
    }


def view_submission_payload(
    user_id: str,
    callback_id: str,
    private_metadata: str,
    values: dict[str, dict[str, Any]],
    *,
    view_id: str = "V0EMULATE",
    username: str | None = None,
) -> dict[str, Any]:
    """Return the payload Slack posts when a user submits a modal (values: block -> action)."""
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "emulated"},
        "user": _user(user_id, username),
        "api_app_id": APP_ID,
        "token": "verification-token-is-deprecated",
        "trigger_id": "13345224609.738474920.8088930838d88f008e1",
        "view": {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "title": {"type": "plain_text", "text": "Threshold"},
            "blocks": [],
            "state": {"values": _state_values(values)},
            "hash": "1700000000.emulated",
            "app_id": APP_ID,
            "bot_id": "B0EMULATE",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
