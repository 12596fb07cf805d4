"""Webhook subscriptions and their deliveries: rows, reads and the writes deliveries make."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from db.tables import DeliveryRow, WebhookRow, utcnow
from domain.contracts import AuditEvent
from domain.webhooks import EVENT_OF, WebhookEvent, WebhookFormat, message_id, payload


def public(row: WebhookRow) -> dict[str, Any]:
    """A subscription as the API shows it."""
    return {
        "id": row.id,
        "url": row.url,
        "events": json.loads(row.events),
        "format": row.format,
        "created_by": row.created_by,
        "created_at": row.created_at,
    }


def add_webhook(
    session: Session, *, url: str, events: list[WebhookEvent], form: WebhookFormat, by: str
) -> WebhookRow:
    """Store a new subscription."""
    row = WebhookRow(
        id="wh_" + uuid.uuid4().hex[:20],
        url=url,
        events=json.dumps(sorted(e.value for e in events)),
        format=form.value,
        created_by=by,
        created_at=utcnow(),
    )
    session.add(row)
    return row


def list_webhooks(session: Session) -> list[WebhookRow]:
    """Every subscription, oldest first."""
    query = select(WebhookRow).order_by(WebhookRow.created_at)  # type: ignore[arg-type]
    return list(session.exec(query).scalars())  # type: ignore[call-overload]


def get_webhook(session: Session, webhook_id: str) -> WebhookRow | None:
    """One subscription, or None."""
    return session.get(WebhookRow, webhook_id)


def remove_webhook(session: Session, row: WebhookRow) -> None:
    """Delete a subscription and its deliveries (pending ones find nothing to send)."""
    session.exec(delete(DeliveryRow).where(DeliveryRow.webhook_id == row.id))  # type: ignore[arg-type]
    session.delete(row)


def deliveries(session: Session, webhook_id: str, limit: int) -> list[DeliveryRow]:
    """A subscription's deliveries, newest first."""
    query = (
        select(DeliveryRow)
        .where(DeliveryRow.webhook_id == webhook_id)  # type: ignore[arg-type]
        .order_by(DeliveryRow.created_at.desc())  # type: ignore[attr-defined]
        .limit(limit)
    )
    return list(session.exec(query).scalars())  # type: ignore[call-overload]


def enqueue(engine: Engine, events: list[AuditEvent]) -> list[str]:
    """Delivery rows for every subscription wanting one of `events`; their ids (new or not)."""
    wanted = [(e, EVENT_OF[e.action]) for e in events if e.action in EVENT_OF]
    if not wanted:
        return []
    created: list[str] = []
    with Session(engine) as session:
        hooks = list_webhooks(session)
        for hook in hooks:
            kinds = set(json.loads(hook.events))
            for event, kind in wanted:
                if kind.value not in kinds:
                    continue
                msg = message_id(hook.id, event.event_key)
                row = DeliveryRow(
                    id=msg,
                    webhook_id=hook.id,
                    event_key=event.event_key,
                    event_type=kind.value,
                    body=payload(event, kind, WebhookFormat(hook.format), msg).decode(),
                    created_at=utcnow(),
                )
                try:
                    with session.begin_nested():
                        session.add(row)
                except IntegrityError:  # a retried batch: started again, a no-op if it runs
                    pass
                created.append(msg)
        session.commit()
    return created


def record_attempt(
    engine: Engine, delivery_id: str, attempt: int, code: int | None, error: str | None, final: bool
) -> None:
    """Note one attempt: delivered on a 2xx, else pending (or failed when it was the last)."""
    with Session(engine) as session:
        row = session.get(DeliveryRow, delivery_id)
        if row is None:
            return
        row.attempts = max(row.attempts, attempt)
        row.last_status_code = code
        row.last_error = error
        if code is not None and 200 <= code < 300:
            row.status, row.delivered_at = "delivered", utcnow()
        elif final:
            row.status = "failed"
        session.add(row)
        session.commit()
