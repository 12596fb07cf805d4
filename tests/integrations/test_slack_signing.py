"""Request-signing and payload helpers checked against slack_sdk's own verifier."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

from tests.emulators.slack import (
    block_actions_payload,
    form_body,
    sign_slack_request,
    view_submission_payload,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def test_signature_is_accepted_by_slack_sdk() -> None:
    """A signed interaction body passes slack_sdk's SignatureVerifier."""
    body = form_body(block_actions_payload("U1", "approve", "req-1", "1700000000.000100", "D1"))
    headers = sign_slack_request(SECRET, body)
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)


def test_tampered_body_is_rejected() -> None:
    """Changing one byte of the body after signing makes the signature invalid."""
    body = form_body(block_actions_payload("U1", "approve", "req-1", "1700000000.000100", "D1"))
    headers = sign_slack_request(SECRET, body)
    assert not SignatureVerifier(SECRET).is_valid_request(
        body.replace(b"approve", b"reject!"), headers
    )


def test_stale_timestamp_is_rejected() -> None:
    """A correctly signed request from six minutes ago is refused as a replay."""
    body = form_body(block_actions_payload("U1", "approve", "req-1", "1700000000.000100", "D1"))
    headers = sign_slack_request(SECRET, body, timestamp=int(time.time()) - 360)
    assert not SignatureVerifier(SECRET).is_valid_request(body, headers)


def test_wrong_secret_is_rejected() -> None:
    """A body signed with another app's secret is refused."""
    body = form_body(
        view_submission_payload("U1", "reject_reason", "req-1", {"reason": {"text": "no"}})
    )
    assert not SignatureVerifier(SECRET).is_valid_request(body, sign_slack_request("other", body))


def test_payloads_travel_as_one_form_field() -> None:
    """Interaction payloads decode from the `payload` form field with Slack's fields."""
    clicked = block_actions_payload("U1", "approve", "req-1", "1700000000.000100", "D1")
    submitted = view_submission_payload(
        "U1", "reject_reason", "req-1", {"reason": {"text": "risky"}}
    )
    for payload in (clicked, submitted):
        [raw] = parse_qs(form_body(payload).decode())["payload"]
        assert json.loads(raw) == payload
    action = clicked["actions"][0]
    assert (action["action_id"], action["value"], action["type"]) == ("approve", "req-1", "button")
    assert clicked["container"]["message_ts"] == "1700000000.000100"
    state = submitted["view"]["state"]["values"]
    assert state["reason"]["text"] == {"type": "plain_text_input", "value": "risky"}
    assert submitted["view"]["private_metadata"] == "req-1"
