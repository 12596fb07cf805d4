"""Approval requests: list, show, decide."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Response

from api.auth import DECIDERS, READERS, Principal
from api.deps import IdempotencyKey, Offset, RequestIdPath, ServiceDep, SessionDep, require
from api.openapi import COMMAND, READ, errors
from api.schemas import DecisionIn, DecisionOut, Page
from api.service import command_meta
from db.projection import list_requests
from domain.approvals import ApprovalRequest, DecisionCommand

router = APIRouter(prefix="/requests", tags=["approvals"])
Reader = Annotated[Principal, Depends(require(READERS))]
Decider = Annotated[Principal, Depends(require(DECIDERS))]


@router.get(
    "",
    response_model=Page[ApprovalRequest],
    operation_id="listRequests",
    summary="List approval requests",
    responses=errors(*READ),
)
def list_all(
    session: SessionDep,
    principal: Reader,
    system: str | None = None,
    status: str | None = None,
    mine: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Page[ApprovalRequest]:
    """Requests from the projection; `mine=true` lists those waiting for the caller."""
    items, total = list_requests(
        session,
        system_id=system,
        status=status,
        principal=principal.email if mine else None,
        limit=limit,
        offset=offset,
    )
    return Page[ApprovalRequest](items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/{request_id}",
    response_model=ApprovalRequest,
    operation_id="getRequest",
    summary="Show an approval request's live state",
    responses=errors(*READ, 404, 503),
)
async def show(
    request_id: RequestIdPath, service: ServiceDep, _: Reader, response: Response
) -> ApprovalRequest:
    """A request's live state: roles, eligible people, decisions, deadlines; the `Link`
    header names its dashboard page (the one Slack and Jira link to)."""
    found = await service.request(request_id)
    response.headers["Link"] = f'</requests/{quote(found.id)}>; rel="alternate"; type="text/html"'
    return found


@router.post(
    "/{request_id}/decisions",
    response_model=DecisionOut,
    operation_id="decideRequest",
    summary="Approve or reject an approval request",
    responses=errors(*COMMAND),
)
async def decide(
    request_id: RequestIdPath,
    body: DecisionIn,
    service: ServiceDep,
    principal: Decider,
    key: IdempotencyKey = None,
) -> DecisionOut:
    """Approve or reject as the token's principal; the rules decide whether it counts."""
    decision = DecisionCommand(
        principal=principal.email,
        approve=body.approve,
        role=body.role,
        comment=body.comment,
        via="api",
    )
    result = await service.decide(request_id, command_meta(principal.email, key), decision)
    return DecisionOut(
        command_id=result.command_id,
        message=result.message,
        request=result.request,
        system=result.system,
        duplicate=result.duplicate,
    )
