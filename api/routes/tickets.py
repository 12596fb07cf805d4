"""Change-request tickets: the local tracker, and the Jira issues Threshold opened."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import READERS, Principal
from api.deps import Offset, SessionDep, require
from api.openapi import READ, errors
from api.schemas import Page, TicketComment, TicketDetail, TicketPublic
from db.tickets import comments, get_ticket_by_key, list_tickets
from domain.errors import NotFound

router = APIRouter(prefix="/tickets", tags=["tickets"])
Reader = Annotated[Principal, Depends(require(READERS))]


@router.get(
    "",
    response_model=Page[TicketPublic],
    operation_id="listTickets",
    summary="List change-request tickets",
    responses=errors(*READ),
)
def list_all(
    session: SessionDep,
    _: Reader,
    system: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Page[TicketPublic]:
    """Tickets, newest first; `status` is open, done or rejected."""
    rows, total = list_tickets(session, system_id=system, status=status, limit=limit, offset=offset)
    items = [TicketPublic.model_validate(row) for row in rows]
    return Page[TicketPublic](items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/{key}",
    response_model=TicketDetail,
    operation_id="getTicket",
    summary="Show a ticket with its comments",
    responses=errors(*READ, 404),
)
def show(key: str, session: SessionDep, _: Reader) -> TicketDetail:
    """One ticket with its description and comments."""
    row = get_ticket_by_key(session, key=key)
    if row is None:
        raise NotFound(f"ticket {key} not found (list them with `threshold tickets`)")
    notes = [TicketComment.model_validate(c) for c in comments(session, request_id=row.request_id)]
    return TicketDetail.model_validate({**row.model_dump(), "comments": notes})
