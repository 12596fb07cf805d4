"""Scope-change events: CloudEvents 1.0 in structured JSON, one at a time or in a batch."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from api.auth import WRITERS, Principal
from api.deps import ServiceDep, require
from api.documents import parse_json
from api.errors import STATUS, error_body
from api.openapi import COMMAND, component, errors
from api.schemas import BatchOut, EventOut
from api.service import GovernanceService
from domain.contracts import CommandResult
from domain.errors import GovernanceError, InvalidInput, Problem
from domain.events import (
    BATCH_CONTENT_TYPE,
    EventType,
    ScopeEvent,
    parse_batch,
    parse_cloudevent,
)
from domain.secrets import masked

router = APIRouter(prefix="/events", tags=["events"])
Writer = Annotated[Principal, Depends(require(WRITERS))]
SINGLE_TYPES = frozenset({"application/cloudevents+json", "application/json"})
_EVENT_SCHEMA = {
    "type": "object",
    "required": ["specversion", "id", "source", "type", "subject", "data"],
    "properties": {
        "specversion": {"const": "1.0"},
        "id": {"type": "string", "description": "Unique per source; makes delivery idempotent."},
        "source": {"type": "string", "description": "URI-reference naming the sender."},
        "type": {"enum": [kind.value for kind in EventType]},
        "subject": {"type": "string", "description": "The system id."},
        "time": {"type": "string", "format": "date-time"},
        "data": {"type": "object", "description": "The change; its fields depend on type."},
    },
}
_EVENT = component("CloudEvent", _EVENT_SCHEMA)
REQUEST_CONTENT = {
    "application/cloudevents+json": {"schema": _EVENT},
    "application/json": {"schema": _EVENT},
    BATCH_CONTENT_TYPE: {"schema": {"type": "array", "items": _EVENT}},
}


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "application/json").split(";")[0].strip().lower()


async def _body(request: Request) -> Any:
    return parse_json(await request.body(), "send a CloudEvent as a JSON object")


def _applied(event: ScopeEvent, result: CommandResult) -> EventOut:
    view = result.system
    pending = view.pending_request
    assessment = result.assessment
    return EventOut(
        status=200,
        id=event.id,
        source=event.source,
        subject=event.subject,
        duplicate=result.duplicate,
        message=result.message,
        state=view.state.value,
        material=assessment.material if assessment is not None else None,
        request_id=pending.id if pending is not None else None,
        assessment=assessment,
        system=view,
    )


def _failed(raw: Any, error: GovernanceError) -> EventOut:
    def text(name: str) -> str | None:
        value = raw.get(name) if isinstance(raw, dict) else None
        return masked(value, identifier=name == "id") if isinstance(value, str) else None

    body = error_body(error.message, [p.as_dict() for p in error.problems])["error"]
    return EventOut(
        status=STATUS.get(error.code, 409),
        id=text("id"),
        source=text("source"),
        subject=text("subject"),
        message=body["message"],
        problems=body["problems"],
    )


async def _one(
    service: GovernanceService, raw: Any, parsed: ScopeEvent | InvalidInput, principal: str
) -> EventOut:
    if isinstance(parsed, InvalidInput):
        return _failed(raw, parsed)
    try:
        return _applied(parsed, await service.apply_event(parsed, principal))
    except GovernanceError as error:
        return _failed(raw, error)


@router.post(
    "",
    response_model=EventOut | BatchOut,
    operation_id="receiveEvents",
    summary="Receive a scope-change CloudEvent or a batch",
    responses=errors(*COMMAND, 415),
    openapi_extra={"requestBody": {"required": True, "content": REQUEST_CONTENT}},
)
async def receive(request: Request, service: ServiceDep, principal: Writer) -> Any:
    """Receive a CloudEvent (`application/cloudevents+json` or `application/json`) or a batch
    (`application/cloudevents-batch+json`, one result per item); `source` + `id` deduplicate."""
    media = _media_type(request)
    if media == BATCH_CONTENT_TYPE:
        items = await _body(request)
        parsed = parse_batch(items)
        results = [
            await _one(service, raw, item, principal.email)
            for raw, item in zip(items, parsed, strict=True)
        ]
        failed = sum(1 for r in results if r.status != 200)
        return BatchOut(applied=len(results) - failed, failed=failed, results=results)
    if media not in SINGLE_TYPES:
        message = (
            f"content type {media!r} is not accepted: send a structured-mode CloudEvent as "
            f"application/cloudevents+json or application/json, or a batch as {BATCH_CONTENT_TYPE}"
        )
        fix = f"set Content-Type to application/cloudevents+json or {BATCH_CONTENT_TYPE}"
        return JSONResponse(
            error_body(message, [{"field": "content-type", "message": fix}]), status_code=415
        )
    raw = await _body(request)
    if isinstance(raw, list):
        raise InvalidInput(
            "a JSON array is a batch",
            [Problem("content-type", f"send a batch with Content-Type: {BATCH_CONTENT_TYPE}")],
        )
    event = parse_cloudevent(raw)
    return _applied(event, await service.apply_event(event, principal.email))
