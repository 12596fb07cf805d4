"""Webhook subscriptions (admin only): add (secret shown once), list, remove, deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field, HttpUrl

from api.auth import ADMINS, Principal
from api.deps import SessionDep, SettingsDep, require
from api.openapi import READ, errors
from api.schemas import Body
from core.signing import SigningKeyError, webhook_key
from db.webhooks import (
    add_webhook,
    deliveries,
    get_webhook,
    list_webhooks,
    public,
    remove_webhook,
)
from domain.errors import NotFound, Problem
from domain.webhooks import WebhookEvent, WebhookFormat, secret_text

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
Admin = Annotated[Principal, Depends(require(ADMINS))]
WebhookId = Annotated[str, Path(min_length=1, max_length=64)]


class WebhookIn(Body):
    """A subscription: where, which events (all when empty), which body format."""

    url: HttpUrl = Field(description="http(s) URL that receives POSTs")
    events: list[WebhookEvent] = Field(default_factory=list, max_length=4)
    format: WebhookFormat = WebhookFormat.standard


class WebhookOut(BaseModel):
    """A subscription as listed (never its secret)."""

    id: str
    url: str
    events: list[WebhookEvent]
    format: WebhookFormat
    created_by: str
    created_at: datetime


class WebhookCreated(WebhookOut):
    """A new subscription with its signing secret, shown this once."""

    secret: str = Field(description="`whsec_...`: verify `webhook-signature` with it")


class DeliveryOut(BaseModel):
    """One event sent (or being sent) to a subscription."""

    id: str
    event_key: str
    event_type: str
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def _found(session: SessionDep, webhook_id: str) -> Any:
    row = get_webhook(session, webhook_id)
    if row is None:
        raise NotFound(
            f"no webhook {webhook_id}",
            [Problem("webhook_id", "list them with GET /api/v1/webhooks")],
        )
    return row


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    operation_id="addWebhook",
    summary="Subscribe a URL to decisions, state changes, findings and containment",
    responses=errors(400, *READ, 503),
)
def add(body: WebhookIn, session: SessionDep, settings: SettingsDep, admin: Admin) -> Any:
    """Store a subscription; the answer holds its signing secret, shown only now."""
    events = body.events or list(WebhookEvent)
    row = add_webhook(session, url=str(body.url), events=events, form=body.format, by=admin.email)
    try:
        secret = secret_text(webhook_key(settings, row.id))
    except SigningKeyError as exc:
        raise HTTPException(
            503, f"the signing key is unavailable: {exc}", headers={"Retry-After": "30"}
        ) from None
    session.commit()
    return {**public(row), "secret": secret}


@router.get(
    "",
    response_model=list[WebhookOut],
    operation_id="listWebhooks",
    summary="Every webhook subscription",
    responses=errors(*READ),
)
def list_all(session: SessionDep, _: Admin) -> Any:
    """Every subscription, oldest first (no secrets)."""
    return [public(row) for row in list_webhooks(session)]


@router.delete(
    "/{webhook_id}",
    status_code=204,
    operation_id="removeWebhook",
    summary="Remove a webhook subscription",
    responses=errors(*READ, 404),
)
def remove(webhook_id: WebhookId, session: SessionDep, _: Admin) -> Response:
    """Stop sending to it; its deliveries are deleted (pending ones send nothing)."""
    remove_webhook(session, _found(session, webhook_id))
    session.commit()
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=list[DeliveryOut],
    operation_id="listWebhookDeliveries",
    summary="A subscription's deliveries: status, attempts, last status code",
    responses=errors(*READ, 404),
)
def list_deliveries(
    webhook_id: WebhookId,
    session: SessionDep,
    _: Admin,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Newest first."""
    _found(session, webhook_id)
    return [row.model_dump() for row in deliveries(session, webhook_id, limit)]
