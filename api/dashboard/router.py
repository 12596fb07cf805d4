"""Dashboard pages: sign-in, estate, system page, approvals inbox, evidence downloads."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session as DbSession

from api import oidc
from api.auth import WRITERS
from api.checkpoints import signed_pack
from api.dashboard import session as auth
from api.dashboard.templating import templates
from api.dashboard.views import (
    credentials,
    estate_page,
    gates,
    manifest_diff,
    my_decisions,
    now,
)
from api.evidence import MEDIA_TYPES, PackFormat, render_pack
from api.service import GovernanceService
from api.throttle import Guard, door_keys
from core.signing import CheckpointSigner
from db.dashboard import EstateQuery, recent_events, system_findings
from db.queries import list_requests
from db.tickets import list_tickets
from domain.errors import NotFound

router = APIRouter(include_in_schema=False)
router.include_router(oidc.router)
PAGE_SIZE = 50
TIMELINE_LIMIT = 500


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """Render a template with the session and its CSRF token."""
    session = auth.current(request)
    base = {"session": session, "csrf": session.csrf if session else ""}
    response = templates.TemplateResponse(request, name, base | context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def to_signin(request: Request) -> RedirectResponse:
    """Send an anonymous visitor to the sign-in page, back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?{urlencode({'next': target})}", status_code=303)


def refused(request: Request, message: str, status: int) -> HTMLResponse:
    """An error page (403 for a missing CSRF token or role, 404, ...)."""
    return page(request, "error.html", {"message": message}, status)


async def checked_form(request: Request, session: auth.Session) -> dict[str, str] | None:
    """The submitted form when its CSRF token matches the session's, else None."""
    form = await request.form()
    if not auth.csrf_ok(session.csrf, form.get(auth.CSRF_FIELD)):
        return None
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def signed_form(request: Request) -> tuple[auth.Session, dict[str, str]] | Response:
    """The session and its CSRF-checked form; else the sign-in redirect or the 403 page."""
    session = auth.current(request)
    if session is None:
        return to_signin(request)
    form = await checked_form(request, session)
    if form is None:
        return refused(
            request, "This form has no valid CSRF token; reload the page and retry.", 403
        )
    return session, form


def _service(request: Request) -> GovernanceService:
    service: GovernanceService = request.app.state.service
    return service


# ----- sign-in ------------------------------------------------------------------------------


@router.get("/signin")
def signin_form(request: Request, next: str = "/") -> Response:
    """The sign-in page: single sign-on when configured, else a token field (double-submit)."""
    secret = auth.presign_secret(request)
    sso = oidc.configured(request) is not None
    context = {"next": _local(next), "presign": auth.csrf_for(secret), "sso": sso}
    response = page(request, "signin.html", context)
    auth.set_cookie(request, response, auth.PRESIGN_COOKIE, secret, 3600)
    return response


@router.post("/signin")
async def signin(request: Request) -> Response:
    """Check the token; on success the session cookie holds it, HttpOnly."""
    if oidc.configured(request) is not None:
        return refused(request, "Sign in with single sign-on; token sign-in is off.", 403)
    form = await request.form()
    secret = request.cookies.get(auth.PRESIGN_COOKIE)
    if secret is None or not auth.csrf_ok(auth.csrf_for(secret), form.get(auth.CSRF_FIELD)):
        return refused(request, "The sign-in form expired or was not sent from this site.", 403)
    token = str(form.get("token", "")).strip()
    target = _local(str(form.get("next", "/")))
    context = {"next": target, "presign": auth.csrf_for(secret)}
    guard: Guard = request.app.state.guard
    keys = door_keys(request, token)
    wait = guard.failures.retry_after(keys)
    if wait is not None:
        context["error"] = f"Too many failed sign-ins; try again in {wait} s."
        answer = page(request, "signin.html", context, 429)
        answer.headers["Retry-After"] = str(wait)
        return answer
    principal = request.app.state.tokens.principal(token) if token else None
    if principal is None:
        for key, failures in guard.failures.failed(keys):
            guard.audit_burst(key, failures)
        context["error"] = "Unknown or revoked token, or one that expired."
        return page(request, "signin.html", context, 401)
    response = RedirectResponse(target, status_code=303)
    auth.set_cookie(request, response, auth.SESSION_COOKIE, token, auth.SESSION_SECONDS)
    response.delete_cookie(auth.PRESIGN_COOKIE, path="/")
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    """Forget the session cookie; after single sign-on, end the session at the IdP too."""
    session = auth.current(request)
    if session is not None and await checked_form(request, session) is None:
        return refused(request, "Sign-out needs the form's CSRF token.", 403)
    provider = oidc.configured(request)
    at_idp = await provider.logout_url(request) if provider and session and session.sso else None
    response: Response = RedirectResponse("/signin", status_code=303)
    if at_idp:  # a page, not a redirect: CSP form-action 'self' blocks a cross-origin redirect
        response = oidc.hop(
            request, "Signed out", at_idp, "End the session at your sign-in provider"
        )
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    response.delete_cookie(auth.SSO_COOKIE, path="/")
    return response


def _local(target: str) -> str:
    """Only same-site paths are followed after sign-in (no open redirect)."""
    safe = target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if safe else "/"


# ----- estate -------------------------------------------------------------------------------


@router.get("/")
def estate(
    request: Request,
    state: str | None = None,
    tier: str | None = None,
    owner: Annotated[str | None, Query(max_length=320)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    overdue: bool = False,
    env: Literal["production", "pilot"] | None = None,
    expiring: Annotated[int | None, Query(ge=1, le=366)] = None,
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """Every system, filtered and paged in SQL, with the estate's counts on top."""
    session = auth.current(request)
    if session is None:
        return to_signin(request)
    query = EstateQuery(
        state=state or None,
        tier=tier or None,
        owner=(owner or "").strip() or None,
        search=(q or "").strip() or None,
        overdue=overdue,
        env=env,
        expiring_before=now() + timedelta(days=expiring) if expiring else None,
        limit=PAGE_SIZE,
        offset=(page_no - 1) * PAGE_SIZE,
    )
    with DbSession(request.app.state.engine) as db:
        estate_view = estate_page(db, query)
        mine = my_decisions(db, session.principal.email) if session.can_decide else []
    filters = {
        "state": state,
        "tier": tier,
        "owner": owner,
        "q": q,
        "overdue": overdue or None,
        "env": env,
        "expiring": expiring,
    }
    kept = {k: v for k, v in filters.items() if v}
    pages = max(1, -(-estate_view.total // PAGE_SIZE))
    links = {
        "prev": f"/?{urlencode(kept | {'page': page_no - 1})}" if page_no > 1 else None,
        "next": f"/?{urlencode(kept | {'page': page_no + 1})}" if page_no < pages else None,
    }
    context = {"estate": estate_view, "filters": filters, "page_no": page_no, "pages": pages}
    context["mine"] = mine
    return page(request, "estate.html", context | {"links": links})


# ----- system page --------------------------------------------------------------------------


@router.get("/systems/{system_id}")
async def system(request: Request, system_id: str) -> Response:
    """One system: manifests side by side, timeline, requests, credentials, tickets, gates."""
    session = auth.current(request)
    if session is None:
        return to_signin(request)
    try:
        view = await _service(request).view(system_id)
    except NotFound as exc:
        return refused(request, exc.message, 404)
    with DbSession(request.app.state.engine) as db:
        requests, _ = list_requests(db, system_id=system_id, limit=100)
        timeline = recent_events(db, system_id=system_id, limit=TIMELINE_LIMIT)
        findings = system_findings(db, system_id=system_id)
        tickets, _ = list_tickets(db, system_id=system_id, limit=100)
    context = {
        "view": view,
        "diff": manifest_diff(view),
        "gates": gates(view),
        "requests": requests,
        "timeline": timeline,
        "credentials": credentials(view),
        "findings": findings,
        "tickets": tickets,
        "decision_key": uuid.uuid4().hex,
        "can_release": session.principal.role in WRITERS,
        "notice": "Release requested." if request.query_params.get("released") else None,
    }
    return page(request, "system.html", context)


# ----- approvals ----------------------------------------------------------------------------


def _inbox(request: Request, session: auth.Session, **extra: Any) -> HTMLResponse:
    with DbSession(request.app.state.engine) as db:
        waiting, _ = list_requests(
            db, status="pending", principal=session.principal.email, limit=200
        )
    status = int(extra.pop("status", 200))
    context = {"waiting": waiting, "decision_key": uuid.uuid4().hex} | extra
    return page(request, "approvals.html", context, status)


@router.get("/approvals")
def approvals(request: Request, decided: str | None = None, outcome: str | None = None) -> Response:
    """The requests waiting for the signed-in principal."""
    session = auth.current(request)
    if session is None:
        return to_signin(request)
    notice = None
    if decided and outcome in ("approved", "rejected", "recorded"):
        notice = f"Your decision on {decided} was recorded ({outcome})."
    return _inbox(request, session, notice=notice)


# ----- evidence -----------------------------------------------------------------------------


@router.get("/evidence")
def evidence(
    request: Request,
    system: str | None = None,
    fmt: Annotated[PackFormat, Query(alias="format")] = PackFormat.html,
    since: datetime | None = None,
) -> Response:
    """Download an evidence pack (one system, or all without `system`)."""
    session = auth.current(request)
    if session is None:
        return to_signin(request)
    try:
        state = request.app.state
        pack = signed_pack(
            state.engine,
            state.audit_signer if isinstance(state.audit_signer, CheckpointSigner) else None,
            system_id=system,
            by=session.principal.email,
            since=since,
        )
    except NotFound as exc:
        return refused(request, exc.message, 404)
    name = f"evidence-{system or 'all'}.{fmt.value}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(render_pack(pack, fmt), media_type=MEDIA_TYPES[fmt], headers=headers)
