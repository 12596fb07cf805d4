"""Dashboard inventory and administration pages: credentials, actions, trace, exceptions,
tokens, ledger verification and the pictures page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session as DbSession

from api.auth import ADMINS
from api.checkpoints import verified_checkpoint, verify_report
from api.dashboard import charts
from api.dashboard import session as auth
from api.dashboard.pages import PAGE_SIZE, PageNo, pager
from api.dashboard.router import checked_form, page, refused, to_signin
from api.dashboard.views import fingerprint, now
from core.signing import CheckpointSigner
from db.inventory import (
    action_page,
    credential_page,
    due_dates,
    exception_page,
    findings_by_week,
    lifecycle_events,
    pending_ages,
)
from db.tokens import list_tokens
from domain.errors import GovernanceError

router = APIRouter(include_in_schema=False)
Filter = Annotated[str | None, Query(max_length=200)]
WEEKS = 12


@router.get("/credentials")
def credentials_page(
    request: Request, system: Filter = None, env: Filter = None, page_no: PageNo = 1
) -> Response:
    """Every declared credential: kind, fingerprint, last use, revocation, findings."""
    if auth.current(request) is None:
        return to_signin(request)
    with DbSession(request.app.state.engine) as db:
        rows, total = credential_page(
            db,
            system=system or None,
            environment=env or None,
            limit=PAGE_SIZE,
            offset=(page_no - 1) * PAGE_SIZE,
        )
    for row in rows:
        row["fingerprint"] = fingerprint(row.pop("vault_ref"))
    kept = {"system": system, "env": env}
    context = {"rows": rows, "total": total, "filters": kept}
    return page(
        request,
        "credentials.html",
        context | {"pager": pager("/credentials", kept, page_no, total)},
    )


@router.get("/actions")
def actions_page(
    request: Request,
    system: Filter = None,
    credential: Filter = None,
    tool: Filter = None,
    page_no: PageNo = 1,
) -> Response:
    """The action ledger, newest first, filtered by system, credential and tool."""
    if auth.current(request) is None:
        return to_signin(request)
    with DbSession(request.app.state.engine) as db:
        rows, total = action_page(
            db,
            system=system or None,
            credential=credential or None,
            tool=tool or None,
            limit=PAGE_SIZE,
            offset=(page_no - 1) * PAGE_SIZE,
        )
    kept = {"system": system, "credential": credential, "tool": tool}
    context = {"rows": rows, "total": total, "filters": kept, "trace": None}
    return page(
        request, "actions.html", context | {"pager": pager("/actions", kept, page_no, total)}
    )


@router.get("/trace/{credential_id}")
def trace_page(request: Request, credential_id: str, page_no: PageNo = 1) -> Response:
    """Every action one credential took, newest first."""
    if auth.current(request) is None:
        return to_signin(request)
    with DbSession(request.app.state.engine) as db:
        rows, total = action_page(
            db,
            system=None,
            credential=credential_id,
            tool=None,
            limit=PAGE_SIZE,
            offset=(page_no - 1) * PAGE_SIZE,
        )
    path = f"/trace/{credential_id}"
    context = {"rows": rows, "total": total, "filters": {}, "trace": credential_id}
    return page(request, "actions.html", context | {"pager": pager(path, {}, page_no, total)})


@router.get("/exceptions")
def exceptions_page(request: Request, page_no: PageNo = 1) -> Response:
    """Waivers per system: active ones with the days left, and ended ones."""
    if auth.current(request) is None:
        return to_signin(request)
    with DbSession(request.app.state.engine) as db:
        rows, total = exception_page(
            db, now=now(), limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE
        )
    context = {"rows": rows, "total": total, "pager": pager("/exceptions", {}, page_no, total)}
    return page(request, "exceptions.html", context)


def _admin(request: Request) -> Response | auth.Session:
    """The session when it is an admin's, else a sign-in redirect or a 403 page."""
    session = auth.current(request)
    if session is None:
        return to_signin(request)
    if session.principal.role not in ADMINS:
        role = session.principal.role.value
        return refused(request, f"Only admins may see this page; your token's role is {role}.", 403)
    return session


@router.get("/tokens")
def tokens_page(request: Request) -> Response:
    """API tokens (admin only): who, role, created, expires, last use, revoked; no values."""
    session = _admin(request)
    if not isinstance(session, auth.Session):
        return session
    with DbSession(request.app.state.engine) as db:
        rows = list_tokens(db)
    return page(request, "tokens.html", {"rows": rows})


@router.get("/verification")
def verification_page(request: Request, run: bool = False) -> Response:
    """Both ledgers' verification (on request) and the last checkpoint signed here."""
    if auth.current(request) is None:
        return to_signin(request)
    report = verify_report(request.app.state.engine, system=None) if run else None
    context = {"report": report, "checkpoint": getattr(request.app.state, "last_checkpoint", None)}
    return page(request, "verification.html", context)


@router.post("/verification/checkpoint")
async def sign_checkpoint(request: Request) -> Response:
    """Sign every chain head once both ledgers verify (admin, CSRF-checked)."""
    session = _admin(request)
    if not isinstance(session, auth.Session):
        return session
    if await checked_form(request, session) is None:
        return refused(
            request, "This form has no valid CSRF token; reload the page and retry.", 403
        )
    signer = request.app.state.audit_signer
    if not isinstance(signer, CheckpointSigner):
        return refused(request, "No checkpoint signing key is configured.", 503)
    try:
        signed = verified_checkpoint(request.app.state.engine, signer, by=session.principal.email)
    except GovernanceError as exc:
        return refused(request, exc.message, 409)
    request.app.state.last_checkpoint = signed
    return page(request, "verification.html", {"report": None, "checkpoint": signed})


def pictures(db: DbSession, today: datetime) -> dict[str, str]:
    """The estate's pictures: approval ageing, the 90-day calendar, findings per week."""
    start = (today - timedelta(weeks=WEEKS)).date()
    start -= timedelta(days=start.weekday())
    opened, closed = findings_by_week(db, since=start.isoformat())
    return {
        "ageing": charts.approval_ageing(pending_ages(db, now=today)),
        "calendar": charts.calendar(
            today.date(),
            [(at.date(), kind, sid) for at, kind, sid in due_dates(db, now=today, days=90)],
        ),
        "findings": charts.findings_weekly(weekly(start, opened, closed)),
    }


def weekly(
    start: date, opened: list[tuple[str, int]], closed: list[datetime]
) -> list[tuple[date, int, int]]:
    """(week start, opened, closed) for each week from `start` to now."""
    weeks = {start + timedelta(weeks=i): [0, 0] for i in range(WEEKS + 1)}

    def slot(day: date) -> date:
        return day - timedelta(days=day.weekday())

    for day, count in opened:
        weeks.setdefault(slot(date.fromisoformat(day)), [0, 0])[0] += count
    for at in closed:
        weeks.setdefault(slot(at.date()), [0, 0])[1] += 1
    return [(w, o, c) for w, (o, c) in sorted(weeks.items())]


@router.get("/pictures")
def pictures_page(request: Request) -> Response:
    """The estate's pictures on one page."""
    if auth.current(request) is None:
        return to_signin(request)
    with DbSession(request.app.state.engine) as db:
        charts_ = pictures(db, datetime.now(UTC))
    return page(request, "pictures.html", {"charts": charts_})


def system_timeline(engine: Any, system_id: str) -> str:
    """One system's lifecycle timeline as SVG (for the system page's include)."""
    with DbSession(engine) as db:
        events = lifecycle_events(db, system_id=system_id)
    parsed = [(datetime.fromisoformat(at), state, rid) for at, state, rid in events]
    return charts.lifecycle_timeline(charts.stays(parsed, datetime.now(UTC)))


def approval_ageing_svg(engine: Any) -> str:
    """The pending approvals' age histogram as SVG (for the approvals page's include)."""
    with DbSession(engine) as db:
        return charts.approval_ageing(pending_ages(db, now=datetime.now(UTC)))
