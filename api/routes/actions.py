"""The action ledger: batches of AI actions in, trace out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import TypeAdapter, ValidationError

from api.auth import READERS, WRITERS, Principal
from api.deps import ServiceDep, SessionDep, require
from api.openapi import ACTIONS_EXAMPLE, READ, errors, request_body
from api.schemas import ActionsOut
from db.actions import trace
from db.queries import credential_inventory
from domain.actions import ActionRecord
from domain.errors import InvalidInput, Problem

router = APIRouter(tags=["actions"])
Reader = Annotated[Principal, Depends(require(READERS))]
Writer = Annotated[Principal, Depends(require(WRITERS))]
_RECORDS = TypeAdapter(list[ActionRecord])
_JSON_LINES = {
    "application/jsonl",
    "application/x-ndjson",
    "application/jsonlines",
    "application/x-jsonlines",
}


def parse_actions(body: bytes, media: str) -> list[ActionRecord]:
    """A JSON array of records, or JSON lines; every bad record named by its index and field."""
    if media in _JSON_LINES:
        lines = [line for line in body.split(b"\n") if line.strip()]
        body = b"[" + b",".join(lines) + b"]"
    try:
        return _RECORDS.validate_json(body or b"[]")
    except ValidationError as exc:
        problems = [
            Problem(
                "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(
                    "."
                ),
                str(err["msg"]),
            )
            for err in exc.errors(include_input=False)[:50]
        ]
        if any(err["type"] == "json_invalid" for err in exc.errors(include_input=False)):
            problems = [Problem("(body)", "send a JSON array of records, or JSON lines")]
        summary = "; ".join(f"{p.field}: {p.message}" for p in problems[:5])
        raise InvalidInput(f"invalid action records: {summary}", problems) from None


@router.post(
    "/actions",
    response_model=ActionsOut,
    operation_id="ingestActions",
    summary="Append AI action records to the action ledger",
    responses=errors(*READ, 404, 413, 429, 503),
    openapi_extra=request_body(ActionRecord, ACTIONS_EXAMPLE, array=True),
)
async def ingest(request: Request, service: ServiceDep, _: Writer) -> ActionsOut:
    """Append action records (JSON array, or JSON lines as application/x-ndjson); re-sent
    records (same system and `id`) are acknowledged as duplicates."""
    body = await request.body()  # at most `api.max_actions_body_bytes` (api.limits)
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    records = parse_actions(body, media)
    result = await service.ingest_actions(records)
    return ActionsOut(
        accepted=result.accepted,
        duplicates=result.duplicates,
        findings=result.findings,
        first_findings=[f.model_dump() for f in result.first_findings],
    )


def parse_since(value: str | None) -> datetime | None:
    """`24h`, `7d`, `30m`, or an ISO time."""
    if value is None:
        return None
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value[-1:] in units and value[:-1].isdigit():
        return datetime.now(UTC) - timedelta(**{units[value[-1]]: int(value[:-1])})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"since {value!r} is not understood",
            [Problem("since", "give a duration such as 24h, 7d, 30m, or an ISO time")],
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.get(
    "/trace",
    operation_id="traceActions",
    summary="Every action of a credential or system, and the blast radius",
    responses=errors(*READ),
)
def trace_actions(
    session: SessionDep,
    _: Reader,
    credential: str | None = None,
    system: str | None = None,
    since: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Every action of a credential (or a system, since a moment) and the blast radius."""
    if credential is None and system is None:
        raise InvalidInput(
            "name a credential or a system",
            [Problem("credential", "give ?credential=ID or ?system=ID")],
        )
    found = trace(
        session, credential_id=credential, system_id=system, since=parse_since(since), limit=limit
    )
    if credential is not None:
        bound = credential_inventory(session, credential_id=credential)
        found["bound_to"] = [
            {
                "system_id": c["system_id"],
                "environment": c["environment"],
                "scopes": c["scopes"],
                "state": c["system_state"],
                "revocation": c["revocation"],
            }
            for c in bound
        ]
    plain: dict[str, Any] = json.loads(json.dumps(found, default=str))
    return plain
