"""Outbound webhooks: which audit events are sent, as what, and how a delivery is signed.

Signatures follow the Standard Webhooks specification: headers `webhook-id`,
`webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
keyed by the secret shown once at subscription (`whsec_<base64 key>`). A subscription's body
format is `standard` (`{"type", "timestamp", "data"}`) or `cloudevents` (CloudEvents 1.0,
structured JSON mode, `application/cloudevents+json`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from domain.audit import AuditAction
from domain.contracts import AuditEvent

_A = AuditAction
SECRET_PREFIX = "whsec_"
CLOUDEVENTS_MEDIA = "application/cloudevents+json"
CLOUDEVENTS_SOURCE = "urn:threshold"
MAX_ATTEMPTS = 6
"""Delivery attempts (1 s, then doubling to at most 60 s between them) before `failed`."""


class WebhookEvent(StrEnum):
    """What a subscriber can ask for."""

    decision = "decision"
    state_change = "state_change"
    finding = "finding"
    containment = "containment"


class WebhookFormat(StrEnum):
    """The body a subscriber receives."""

    standard = "standard"
    cloudevents = "cloudevents"


_DECISIONS = (
    _A.decision_approved,
    _A.decision_rejected,
    _A.finding_acknowledged,
    _A.action_approval_requested,
    _A.action_approval_approved,
    _A.action_approval_rejected,
    _A.action_approval_expired,
)
_STATES = (
    _A.entered_pilot,
    _A.entered_production,
    _A.promotion_approved,
    _A.promotion_rejected,
    _A.revalidation_requested,
    _A.revalidation_approved,
    _A.revalidation_rejected,
    _A.recertified,
    _A.recertification_overdue,
    _A.retired,
)
_CONTAINMENT = (
    _A.contained,
    _A.release_requested,
    _A.released,
    _A.credential_revocation_requested,
    _A.credential_revocation_confirmed,
    _A.credential_revocation_failed,
)
EVENT_OF: Mapping[AuditAction, WebhookEvent] = {
    **{a: WebhookEvent.decision for a in _DECISIONS},
    **{a: WebhookEvent.state_change for a in _STATES},
    **{a: WebhookEvent.containment for a in _CONTAINMENT},
    _A.action_finding: WebhookEvent.finding,
    _A.credential_dormant: WebhookEvent.finding,
    _A.system_dormant: WebhookEvent.finding,
}


def event_type(event: WebhookEvent) -> str:
    """The `type` a subscriber sees: `dev.threshold.<event>`."""
    return f"dev.threshold.{event.value}"


def message_id(subscription_id: str, event_key: str) -> str:
    """The `webhook-id` of one event to one subscription (the same on every retry)."""
    digest = hashlib.sha256(f"{subscription_id}\n{event_key}".encode()).hexdigest()[:32]
    return f"msg_{digest}"


def payload(event: AuditEvent, kind: WebhookEvent, form: WebhookFormat, msg_id: str) -> bytes:
    """The body sent for `event` in the subscription's format (compact JSON, UTF-8)."""
    data: dict[str, Any] = {
        "system_id": event.system_id,
        "action": event.action.value,
        "actor": event.actor,
        "at": event.at.isoformat(),
        "request_id": event.request_id,
        "detail": event.detail,
        "event_key": event.event_key,
    }
    body: dict[str, Any]
    if form is WebhookFormat.cloudevents:
        body = {
            "specversion": "1.0",
            "id": msg_id,
            "source": CLOUDEVENTS_SOURCE,
            "type": event_type(kind),
            "subject": event.system_id,
            "time": event.at.isoformat(),
            "datacontenttype": "application/json",
            "data": data,
        }
    else:
        body = {"type": event_type(kind), "timestamp": event.at.isoformat(), "data": data}
    return json.dumps(body, separators=(",", ":"), default=str).encode()


def secret_text(key: bytes) -> str:
    """The signing secret as a subscriber stores it: `whsec_` + base64 of the key."""
    return SECRET_PREFIX + base64.b64encode(key).decode()


def signature_headers(key: bytes, msg_id: str, sent_at: datetime, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (the timestamp is the attempt's)."""
    timestamp = str(int(sent_at.timestamp()))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


class DeliveryInput(BaseModel):
    """The delivery workflow's and activity's input: which stored delivery to send."""

    delivery_id: str
    max_attempts: int = MAX_ATTEMPTS


def delivery_workflow_id(delivery_id: str, prefix: str = "") -> str:
    """The id of the workflow delivering one delivery (a retried start is a no-op)."""
    return f"{prefix}webhook:{delivery_id}"
