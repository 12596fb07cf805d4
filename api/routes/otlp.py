"""OTLP/HTTP trace ingest (`POST /v1/traces`): GenAI and MCP spans into the action ledger.

Spans are decoded (`api/otlp.py`), turned into action records by the pure rules of
`domain/otlp.py`, and appended through the same `GovernanceService.ingest_actions` as
`POST /api/v1/actions`: the same checks, content policy, secret masking, chaining and
findings. Spans of systems Threshold does not know are rejected in `partial_success` and
audited on the `threshold:security` chain (`otlp_spans_unmatched`), never dropped silently.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session

from api.auth import WRITERS, Principal
from api.deps import EngineDep, ServiceDep, SettingsDep, require
from api.openapi import errors
from api.otlp import (
    JSON,
    MEDIA_TYPES,
    PROTOBUF,
    export_response,
    inflate,
    parse_request,
    request_spans,
    status_body,
)
from api.service import GovernanceService
from db.ledger import append_events
from db.tables import utcnow
from domain.access import SECURITY_CHAIN
from domain.actions import ActionRecord, ActionScope
from domain.audit import AuditAction
from domain.contracts import AuditEvent
from domain.errors import InvalidInput
from domain.otlp import SEMCONV_VERSION, OtlpSpan, SpanAction, span_actions

router = APIRouter(tags=["otlp"])
Writer = Annotated[Principal, Depends(require(WRITERS))]
_INVALID_ARGUMENT = 3  # google.rpc.Code
_EXAMPLE = {
    "resourceSpans": [
        {
            "resource": {
                "attributes": [
                    {"key": "service.name", "value": {"stringValue": "support-assistant"}},
                    {
                        "key": "deployment.environment.name",
                        "value": {"stringValue": "production"},
                    },
                ]
            },
            "scopeSpans": [
                {
                    "spans": [
                        {
                            "traceId": "5b8efff798038103d269b633813fc60c",
                            "spanId": "eee19b7ec3c1b174",
                            "name": "execute_tool search_kb",
                            "kind": 1,
                            "startTimeUnixNano": "1764669600000000000",
                            "endTimeUnixNano": "1764669600100000000",
                            "attributes": [
                                {
                                    "key": "gen_ai.operation.name",
                                    "value": {"stringValue": "execute_tool"},
                                },
                                {"key": "gen_ai.tool.name", "value": {"stringValue": "search_kb"}},
                            ],
                        }
                    ]
                }
            ],
        }
    ]
}
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {"schema": {"type": "object"}, "example": _EXAMPLE},
            PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
        },
    },
    "responses": {
        "200": {
            "description": "An ExportTraceServiceResponse; `partialSuccess` counts the spans "
            "refused (unknown system, invalid field) and says why.",
            "content": {
                JSON: {
                    "schema": {
                        "type": "object",
                        "properties": {"partialSuccess": {"type": "object"}},
                    }
                },
                PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
}


def _media(request: Request) -> str:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in MEDIA_TYPES:
        raise _Refused(415, f"Content-Type {media or '(none)'!r}: send {PROTOBUF} or {JSON}", JSON)
    return media


class _Refused(Exception):
    """An export refused whole: the status, the message, and the encoding to answer in."""

    def __init__(self, status: int, message: str, media: str) -> None:
        super().__init__(message)
        self.status, self.message, self.media = status, message, media


def _refusal(exc: _Refused) -> Response:
    """The OTLP error body (a `google.rpc.Status`), in JSON also the API's `error` shape."""
    if exc.media == PROTOBUF:
        body = status_body(_INVALID_ARGUMENT, exc.message, PROTOBUF)
        return Response(body, status_code=exc.status, media_type=PROTOBUF)
    problems = [{"field": "(body)", "message": exc.message}]
    document = {
        "code": _INVALID_ARGUMENT,
        "message": exc.message,
        "error": {"message": exc.message, "problems": problems},
    }
    return Response(json.dumps(document), status_code=exc.status, media_type=JSON)


def _known_scopes(service: GovernanceService, engine: Engine, ids: list[str]) -> dict[str, Any]:
    with Session(engine) as session:
        return service.scopes.scopes(session, ids) if ids else {}


def _record(action: SpanAction, scope: ActionScope) -> ActionRecord:
    """The action record of a span of a known system (environment defaults to the system's)."""
    environment = action.environment or ("production" if scope.production else "pilot")
    return ActionRecord.model_validate(
        {"system": action.system, "environment": environment, **action.fields}
    )


def _audit_unmatched(engine: Engine, unknown: Counter[str], principal: Principal) -> None:
    """One `otlp_spans_unmatched` entry on the security chain for an export's unknown systems."""
    event = AuditEvent(
        event_key=f"otlp-unmatched:{uuid.uuid4().hex}",
        system_id=SECURITY_CHAIN,
        at=utcnow(),
        actor=principal.email,
        action=AuditAction.otlp_spans_unmatched,
        detail={"systems": dict(sorted(unknown.items())), "semconv": SEMCONV_VERSION},
    )
    with Session(engine) as session:
        append_events(session, events=[event])
        session.commit()


def _sort(
    spans: list[OtlpSpan], scopes: dict[str, ActionScope]
) -> tuple[list[ActionRecord], Counter[str], list[str]]:
    """Records of known systems, spans per unknown system, and why other spans were refused."""
    records: list[ActionRecord] = []
    unknown: Counter[str] = Counter()
    invalid: list[str] = []
    for span in spans:
        actions = span_actions(span) or []
        if not actions:
            continue
        system = actions[0].system
        scope = scopes.get(system)
        if scope is None:
            unknown[system or "(no system attribute)"] += 1
            continue
        try:
            records += [_record(a, scope) for a in actions]
        except ValidationError as exc:
            err = exc.errors(include_input=False)[0]
            field = ".".join(str(p) for p in err["loc"])
            invalid.append(f"span {span.span_id}: {field}: {err['msg']}")
    return records, unknown, invalid


def _message(unknown: Counter[str], invalid: list[str]) -> str:
    parts = []
    if unknown:
        named = ", ".join(f"{s} ({n})" for s, n in sorted(unknown.items()))
        parts.append(
            f"unknown system(s): {named}: register them, or set the resource attribute "
            "threshold.system.id to a registered system id"
        )
    parts += invalid[:5]
    return "; ".join(parts)


@router.post(
    "/v1/traces",
    operation_id="exportTraces",
    summary="OTLP/HTTP trace export: GenAI and MCP spans become action records",
    responses=errors(400, 401, 403, 404, 413, 415, 422, 429, 503),
    openapi_extra=_BODY,
)
async def export_traces(
    request: Request,
    service: ServiceDep,
    engine: EngineDep,
    settings: SettingsDep,
    principal: Writer,
) -> Response:
    """Take an OTLP trace export (protobuf or JSON, gzip or not) as the ledger takes actions."""
    media = JSON
    try:
        media = _media(request)
        limit = settings.api.max_actions_body_bytes
        try:
            body = inflate(await request.body(), request.headers.get("content-encoding"), limit)
            spans = request_spans(parse_request(body, media))
        except InvalidInput as exc:
            raise _Refused(400, exc.message, media) from None
    except _Refused as exc:
        return _refusal(exc)
    systems = sorted({a[0].system for s in spans if (a := span_actions(s))})
    scopes = await asyncio.to_thread(_known_scopes, service, engine, [s for s in systems if s])
    records, unknown, invalid = _sort(spans, scopes)
    await service.ingest_actions(records)
    if unknown:
        await asyncio.to_thread(_audit_unmatched, engine, unknown, principal)
    rejected = sum(unknown.values()) + len(invalid)
    return Response(
        export_response(rejected, _message(unknown, invalid), media),
        media_type=media,
    )
