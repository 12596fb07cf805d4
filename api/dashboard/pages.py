"""Dashboard lists behind the counters (requests, findings, tickets) and finding acknowledgement."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlmodel import Session as DbSession

from api.dashboard import session as auth
from api.dashboard.decide import router as decide_router
from api.dashboard.router import page, refused, signed_form, to_signin
from api.dashboard.views import estate_counts, now
from db.dashboard import acknowledge_finding, open_findings
from db.queries import list_requests
from db.tickets import list_tickets
from domain.errors import NotFound

router = APIRouter(include_in_schema=False)
router.include_router(decide_router)
PAGE_SIZE = 50
RequestStatusFilter = Literal["pending", "approved", "rejected", "expired", "withdrawn"]
TicketStatusFilter = Literal["open", "done", "rejected"]
PageNo = Annotated[int, Query(alias="page", ge=1, le=100_000)]


def pager(path: str, kept: dict[str, str | None], page_no: int, total: int) -> dict[str, object]:
    """Previous/next links and the page count of a paged list."""
    pages = max(1, -(-total // PAGE_SIZE))
    keep = {k: v for k, v in kept.items() if v}

    def link(n: int) -> str:
        return f"{path}?{urlencode(keep | {'page': n})}"

    return {
        "pages": pages,
        "page_no": page_no,
        "prev": link(page_no - 1) if page_no > 1 else None,
        "next": link(page_no + 1) if page_no < pages else None,
    }


@router.get("/requests")
def requests_list(
    request: Request, status: RequestStatusFilter | None = None, page_no: PageNo = 1
) -> Response:
    """Every approval request in the estate (newest change first), optionally by status."""
    session = auth.current(request)
    if session is None:
        return to_signin(request)
    with DbSession(request.app.state.engine) as db:
        rows, total = list_requests(
            db, status=status, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE
        )
    context = {
        "rows": rows,
        "total": total,
        "status": status,
        "pager": pager("/requests", {"status": status}, page_no, total),
    }
    return page(request, "requests.html", context)


@router.get("/tickets")
def tickets_list(
    request: Request, status: TicketStatusFilter | None = None, page_no: PageNo = 1
) -> Response:
    """Every change-request ticket (Jira or local), newest first, optionally by status."""
    session = auth.current(request)
    if session is None:
        return to_signin(request)
    with DbSession(request.app.state.engine) as db:
        rows, total = list_tickets(
            db, status=status, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE
        )
    context = {
        "rows": rows,
        "total": total,
        "status": status,
        "pager": pager("/tickets", {"status": status}, page_no, total),
    }
    return page(request, "tickets.html", context)


@router.get("/findings")
def findings_list(request: Request, page_no: PageNo = 1) -> Response:
    """Open findings: finding kinds per system not acknowledged since, systems not retired."""
    session = auth.current(request)
    if session is None:
        return to_signin(request)
    with DbSession(request.app.state.engine) as db:
        rows, total = open_findings(db, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)
    context = {"rows": rows, "total": total, "pager": pager("/findings", {}, page_no, total)}
    return page(request, "findings.html", context)


def _back(target: str | None, fallback: str) -> str:
    """A same-site path to return to (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


@router.post("/findings/{system_id}/{code}/acknowledge")
async def acknowledge(request: Request, system_id: str, code: str) -> Response:
    """Acknowledge a finding kind on a system, with a reason (audited as finding_acknowledged)."""
    signed = await signed_form(request)
    if isinstance(signed, Response):
        return signed
    session, form = signed
    if not session.can_decide:
        role = session.principal.role.value
        return refused(request, f"Your token's role ({role}) may not acknowledge findings.", 403)
    reason = form.get("reason", "").strip()
    if not reason:
        return refused(request, "reason: say why this finding needs no further action.", 422)
    try:
        acknowledge_finding(
            request.app.state.engine,
            system_id=system_id,
            code=code,
            reason=reason[:2000],
            by=session.principal.email,
            now=now(),
        )
    except NotFound as exc:
        return refused(request, exc.message, 404)
    return RedirectResponse(_back(form.get("next"), "/findings"), status_code=303)


@router.get("/counts.json")
def counts(request: Request) -> Response:
    """The estate's counters as JSON, for the estate page's auto-refresh."""
    session = auth.current(request)
    if session is None:
        return JSONResponse({"error": "sign in first"}, status_code=401)
    with DbSession(request.app.state.engine) as db:
        figures = estate_counts(db).as_json()
    return JSONResponse(figures, headers={"Cache-Control": "no-store"})
