"""Webhook bodies and Standard Webhooks signatures, checked with the reference library."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from standardwebhooks import Webhook

from domain.audit import AuditAction
from domain.contracts import AuditEvent
from domain.webhooks import (
    EVENT_OF,
    WebhookEvent,
    WebhookFormat,
    message_id,
    payload,
    secret_text,
    signature_headers,
)

EVENT = AuditEvent(
    event_key="wf:1",
    system_id="support-assistant",
    at=datetime(2026, 12, 1, tzinfo=UTC),
    actor="threshold",
    action=AuditAction.contained,
    detail={"reason": "finding"},
)


def test_signature_verifies_with_the_standard_webhooks_library() -> None:
    """Headers signed with a key verify against the `whsec_` secret with `standardwebhooks`."""
    key = bytes(range(32))
    msg = message_id("wh_1", EVENT.event_key)
    body = payload(EVENT, WebhookEvent.containment, WebhookFormat.standard, msg)
    headers = signature_headers(key, msg, datetime.now(UTC), body)
    verified = Webhook(secret_text(key)).verify(body, headers)
    assert verified["type"] == "dev.threshold.containment"
    assert verified["data"]["action"] == "contained"


def test_cloudevents_body_has_the_required_attributes() -> None:
    """A CloudEvents body carries specversion, id, source, type and the system as subject."""
    body = json.loads(payload(EVENT, WebhookEvent.containment, WebhookFormat.cloudevents, "m"))
    assert {k: body[k] for k in ("specversion", "id", "subject")} == {
        "specversion": "1.0",
        "id": "m",
        "subject": "support-assistant",
    }


def test_message_id_is_stable_per_subscription_and_event() -> None:
    """Retries of one event to one subscription share a webhook-id; other pairs do not."""
    assert message_id("a", "e") == message_id("a", "e") != message_id("b", "e")


def test_every_event_kind_has_audit_actions() -> None:
    """Each subscribable event kind is fed by at least one audit action."""
    assert set(EVENT_OF.values()) == set(WebhookEvent)
