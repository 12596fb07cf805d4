"""The request page and deciding from the dashboard (confirm step, refusals on the same page)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session as DbSession

from api.auth import WRITERS
from api.dashboard import session as auth
from api.dashboard.router import _inbox, _service, page, refused, signed_form, to_signin
from api.dashboard.views import days_left, now, review_diff
from api.errors import STATUS
from api.service import command_meta
from db.queries import get_request, get_system
from db.tickets import list_tickets
from domain.approvals import ApprovalRequest, DecisionCommand, RequestKind, may_decide
from domain.errors import GovernanceError, Problem
from domain.secrets import text_message

router = APIRouter(include_in_schema=False)
CONFIRM = "yes"


def needs_confirm(request: ApprovalRequest) -> bool:
    """An approval that can open the production gate asks to be confirmed first."""
    return request.kind is RequestKind.promotion


def request_context(db: DbSession, request: ApprovalRequest, who: str) -> dict[str, Any]:
    """What the request page shows: the request, its system's facts and tickets, who may decide."""
    system = get_system(db, system_id=request.system_id)
    tickets, _ = list_tickets(db, system_id=request.system_id, limit=100)
    deadline = days_left(request.escalate_at, now())[0] if request.status == "pending" else ""
    return {
        "r": request,
        "system": system,
        "tickets": [t for t in tickets if t.request_id == request.id],
        "can_decide_this": may_decide(request, who),
        "review": review_diff(system, request),
        "deadline": deadline,
        "decision_key": uuid.uuid4().hex,
        "next": f"/requests/{request.id}",
    }


def request_page(
    http: Request, session: auth.Session, request_id: str, status: int = 200, **extra: Any
) -> HTMLResponse:
    """Render the request page (with an error, a notice or a confirm step in `extra`)."""
    with DbSession(http.app.state.engine) as db:
        found = get_request(db, request_id=request_id)
        if found is None:
            return refused(http, f"request {request_id} not found", 404)
        context = request_context(db, found, session.principal.email)
    return page(http, "request.html", context | extra, status)


@router.get("/requests/{request_id}")
def show_request(request: Request, request_id: str, decided: str | None = None) -> Response:
    """One approval request: kind, system, facts, change, approvers, decisions and state."""
    session = auth.current(request)
    if session is None:
        return to_signin(request)
    notice = f"Your decision was recorded ({decided})." if decided else None
    return request_page(request, session, request_id, notice=notice)


def _on_refusal(
    http: Request, session: auth.Session, request_id: str, form: dict[str, str]
) -> Callable[..., HTMLResponse]:
    """Re-render the page the person decided from (the request page or the inbox)."""
    if form.get("next") == f"/requests/{request_id}":
        return lambda **extra: request_page(http, session, request_id, **extra)
    return lambda **extra: _inbox(http, session, **extra)


@router.post("/approvals/{request_id}")
async def decide(request: Request, request_id: str) -> Response:
    """Approve or reject through the same workflow update and rules as the API and Slack."""
    signed = await signed_form(request)
    if isinstance(signed, Response):
        return signed
    session, form = signed
    if not session.can_decide:
        role = session.principal.role.value
        return refused(request, f"Your token's role ({role}) may not approve or reject.", 403)
    again = _on_refusal(request, session, request_id, form)
    approve = form.get("decision") == "approve"
    reason = form.get("reason", "")
    refused_text = text_message(reason)
    if refused_text is not None:
        problems = [Problem("reason", refused_text)]
        message = "Not recorded: the reason holds a secret value."
        return again(error=message, problems=problems, status=422)
    if approve and form.get("confirm") != CONFIRM:
        with DbSession(request.app.state.engine) as db:
            found = get_request(db, request_id=request_id)
        if found and needs_confirm(found) and may_decide(found, session.principal.email):
            return request_page(request, session, request_id, confirm=True, comment=reason.strip())
    decision = DecisionCommand(
        principal=session.principal.email, approve=approve, comment=reason.strip(), via="dashboard"
    )
    key = form.get("idempotency_key") or None
    try:
        result = await _service(request).decide(
            request_id, command_meta(session.principal.email, key), decision
        )
    except GovernanceError as exc:
        status = STATUS.get(exc.code, 409)
        return again(error=exc.message, problems=exc.problems, status=status)
    state = result.request.status.value
    outcome = state if state != "pending" else "recorded"
    if form.get("next") == f"/requests/{request_id}":
        return RedirectResponse(
            f"/requests/{request_id}?{urlencode({'decided': outcome})}", status_code=303
        )
    target = f"/approvals?{urlencode({'decided': request_id, 'outcome': outcome})}"
    return RedirectResponse(target, status_code=303)


@router.post("/systems/{system_id}/release")
async def release(request: Request, system_id: str) -> Response:
    """Ask to release a contained system (the same update as the API's release route)."""
    signed = await signed_form(request)
    if isinstance(signed, Response):
        return signed
    session, form = signed
    if session.principal.role not in WRITERS:
        role = session.principal.role.value
        return refused(request, f"Your token's role ({role}) may not ask for a release.", 403)
    comment = form.get("comment", "").strip()
    if text_message(comment) is not None:
        return refused(request, "comment: not recorded, it holds a secret value.", 422)
    meta = command_meta(session.principal.email, form.get("idempotency_key") or None)
    try:
        await _service(request).release(system_id, meta, comment[:2000])
    except GovernanceError as exc:
        return refused(request, exc.message, STATUS.get(exc.code, 409))
    return RedirectResponse(f"/systems/{system_id}?released=1#release", status_code=303)


@router.get("/favicon.ico")
def favicon() -> Response:
    """No icon: an empty answer, so browsers log no 404 on every page."""
    return Response(status_code=204, headers={"Cache-Control": "max-age=86400"})
