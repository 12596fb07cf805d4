"""Outbound webhooks: deliveries queued where audit events are written, sent by an activity."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from core.settings import Settings
from core.signing import webhook_key
from db.tables import DeliveryRow, WebhookRow, utcnow
from db.webhooks import enqueue, record_attempt
from domain.contracts import AuditEvent
from domain.webhooks import (
    CLOUDEVENTS_MEDIA,
    DeliveryInput,
    WebhookFormat,
    delivery_workflow_id,
    signature_headers,
)

log = logging.getLogger("threshold.webhooks")
SEND_TIMEOUT = 10.0
DELIVERY_WORKFLOW = "WebhookDeliveryWorkflow"


class WebhookDispatcher:
    """Queues deliveries for a batch of audit events and starts one workflow per delivery."""

    def __init__(
        self,
        engine: Engine,
        client: Client,
        settings: Settings,
        loop: asyncio.AbstractEventLoop | None,
    ) -> None:
        self._engine = engine
        self._client = client
        self._settings = settings
        self._loop = loop

    def dispatch(self, events: list[AuditEvent]) -> int:
        """Queue and start the deliveries of `events` (idempotent: a retry starts none twice)."""
        if self._loop is None:
            return 0
        ids = enqueue(self._engine, events)
        for delivery_id in ids:
            start = self._start(delivery_id)
            asyncio.run_coroutine_threadsafe(start, self._loop).result(timeout=30)
        return len(ids)

    async def _start(self, delivery_id: str) -> None:
        temporal = self._settings.temporal
        with contextlib.suppress(WorkflowAlreadyStartedError):  # a retried batch
            await self._client.start_workflow(
                DELIVERY_WORKFLOW,  # by name: activities never import workflows/
                DeliveryInput(delivery_id=delivery_id),
                id=delivery_workflow_id(delivery_id, temporal.workflow_id_prefix),
                task_queue=temporal.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,  # sent once, ever
            )


class WebhookActivities:
    """Sends deliveries; Temporal retries a failed attempt within the workflow's policy."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings

    @activity.defn(name="deliver_webhook")
    def deliver_webhook(self, job: DeliveryInput) -> int:
        """POST one stored delivery, signed; the subscriber's status code (a non-2xx raises)."""
        attempt = activity.info().attempt
        final = attempt >= job.max_attempts
        with Session(self._engine) as session:
            delivery = session.get(DeliveryRow, job.delivery_id)
            hook = session.get(WebhookRow, delivery.webhook_id) if delivery else None
        if delivery is None or hook is None:  # the subscription was removed meanwhile
            return 0
        body = delivery.body.encode()
        key = webhook_key(self._settings, hook.id)
        headers = signature_headers(key, delivery.id, utcnow(), body)
        cloud = hook.format == WebhookFormat.cloudevents.value
        headers["content-type"] = CLOUDEVENTS_MEDIA if cloud else "application/json"
        try:
            response = httpx.post(hook.url, content=body, headers=headers, timeout=SEND_TIMEOUT)
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {str(exc)[:200]}"
            record_attempt(self._engine, delivery.id, attempt, None, reason, final)
            raise ApplicationError(f"webhook {hook.id} unreachable: {reason}") from None
        code = response.status_code
        ok = 200 <= code < 300
        error = None if ok else f"HTTP {code}"
        record_attempt(self._engine, delivery.id, attempt, code, error, final)
        if not ok:
            raise ApplicationError(f"webhook {hook.id} answered {code}")
        return code
