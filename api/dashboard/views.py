"""View-models for the dashboard pages, built from stored system views (JSON) and live views.

Recertification (`due_at`, `overdue_since`) and waivers (`gap`, `until`, `status`) are read
from the stored view here and only here; counts are SQL aggregates (`db/dashboard.py`); the
estate's order and "time left" come from the projection's `urgency` columns (domain.deadlines).
Estate rows read the stored JSON with `json.loads` (no model validation) to stay fast.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from db.dashboard import (
    EstateQuery,
    PageRow,
    contained_count,
    expiring_exception_count,
    finding_count,
    in_production,
    open_ticket_count,
    open_tickets,
    overdue_count,
    page_views,
    pending_requests,
    state_counts,
)
from db.queries import list_requests
from domain.approvals import ApprovalRequest, RequestKind, may_decide
from domain.contracts import SystemView
from domain.deadlines import NO_DEADLINE
from domain.gate import system_gate
from domain.lifecycle import CLOSED_STATES, PRODUCTION_STATES, GateResult, LifecycleState, Scope
from domain.manifest import Environment

NONE = "—"
EXPIRING_DAYS = 14


@dataclass(frozen=True)
class EstateRow:
    """One line of the estate view."""

    id: str
    name: str
    state: str
    environment: str
    risk_tier: str
    owners: list[str]
    why: list[str]
    gaps: list[str]
    waivers: list[str]
    pending_request: str | None
    next_recertification: str
    overdue: bool
    tickets: list[str]
    deadline: str = ""
    late: bool = False


@dataclass(frozen=True)
class EstateCounts:
    """The figures at the top of the estate view (None: not tracked yet)."""

    in_production: int
    pending_approvals: int
    overdue_recertifications: int
    expiring_exceptions: int | None
    open_findings: int | None
    open_tickets: int
    contained: int = 0

    def links(self) -> list[tuple[str, int | None, str, bool]]:
        """(label, number, link, alarming) per counter; each link lists exactly the counted rows."""
        return [
            ("in production", self.in_production, "/?env=production", False),
            ("pending approvals", self.pending_approvals, "/requests?status=pending", False),
            (
                "overdue recertifications",
                self.overdue_recertifications,
                "/?overdue=true",
                bool(self.overdue_recertifications),
            ),
            (
                "expiring exceptions",
                self.expiring_exceptions,
                f"/?expiring={EXPIRING_DAYS}",
                bool(self.expiring_exceptions),
            ),
            ("open findings", self.open_findings, "/findings", bool(self.open_findings)),
            ("contained", self.contained, "/?state=contained", bool(self.contained)),
            ("open tickets", self.open_tickets, "/tickets?status=open", False),
        ]

    def as_json(self) -> dict[str, int | None]:
        """The counters by label (the auto-refresh reads these)."""
        return {label: number for label, number, _, _ in self.links()}


@dataclass
class EstatePage:
    """The rows of one page, the total that match, and the counts."""

    rows: list[EstateRow]
    total: int
    query: EstateQuery
    counts: EstateCounts
    states: list[str] = field(default_factory=lambda: [s.value for s in LifecycleState])


def recertification(view: dict[str, Any]) -> tuple[str, bool]:
    """Next recertification due date and whether it is overdue (issue 5's field, if present)."""
    recert = view.get("recertification") or {}
    due = recert.get("due_at")
    overdue = bool(recert.get("overdue_since")) or view.get("state") == "overdue"
    return (due[:10] if isinstance(due, str) else NONE), overdue


def waivers(view: dict[str, Any]) -> list[str]:
    """Active exceptions as "gap until date" (issue 5's field, if present)."""
    found = []
    for item in view.get("exceptions") or []:
        if item.get("status", "granted") in ("granted", "active"):
            until = str(item.get("until") or "")[:10]
            found.append(f"{item.get('gap', '?')} until {until}" if until else str(item.get("gap")))
    return found


def runs_in(state: str) -> str:
    """Where a system runs, from its lifecycle state (not the manifest's `environment`)."""
    if state in PRODUCTION_STATES:
        return "production"
    if state in CLOSED_STATES:
        return "closed"
    return "pilot"


def days_left(at: datetime, now: datetime) -> tuple[str, bool]:
    """ "N days left" or "overdue N days" (and whether it is overdue)."""
    seconds = (at - now).total_seconds()
    days = int(abs(seconds) // 86400)
    if seconds < 0:
        return f"overdue {days} day{'s' if days != 1 else ''}", True
    return f"{days} day{'s' if days != 1 else ''} left", False


def deadline_text(row: PageRow, now: datetime) -> tuple[str, bool]:
    """The stored nearest deadline as "what: N days left" or "what: overdue N days"."""
    if row.next_deadline is None or row.urgency >= NO_DEADLINE:
        return "", False
    text, late = days_left(datetime.fromtimestamp(row.urgency, UTC), now)
    return f"{row.next_deadline}: {text}", late


def estate_row(stored: PageRow, tickets: list[str], now: datetime) -> EstateRow:
    """One estate line from a stored view and its nearest deadline."""
    view = json.loads(stored.view_json)
    manifest = view.get("approved_manifest") or view["manifest"]
    production = view.get("production_requirements") or view["requirements"]
    due, overdue = recertification(view)
    pending = view.get("pending_request")
    deadline, late = deadline_text(stored, now)
    return EstateRow(
        id=view["system_id"],
        name=manifest["name"],
        state=view["state"],
        environment=runs_in(view["state"]),
        risk_tier=view["requirements"]["risk_tier"],
        owners=[o for o in (manifest.get("business_owner"), manifest.get("technical_owner")) if o],
        why=[t["reason"] for t in production.get("triggers", [])],
        gaps=[g["message"] for g in production.get("gaps", [])],
        waivers=waivers(view),
        pending_request=pending["id"] if pending else None,
        next_recertification=due,
        overdue=overdue,
        tickets=tickets,
        deadline=deadline,
        late=late or overdue,
    )


def estate_counts(session: Session) -> EstateCounts:
    """The estate's headline figures, each one SQL aggregate."""
    states = state_counts(session)
    return EstateCounts(
        in_production=in_production(states),
        pending_approvals=pending_requests(session),
        overdue_recertifications=overdue_count(session),
        expiring_exceptions=expiring_exception_count(
            session, now=datetime.now(UTC), within=timedelta(days=EXPIRING_DAYS)
        ),
        open_findings=finding_count(session),
        open_tickets=open_ticket_count(session),
        contained=contained_count(states),
    )


def estate_page(session: Session, query: EstateQuery) -> EstatePage:
    """One page of the estate: rows, total and counts."""
    stored, total = page_views(session, query)
    tickets = open_tickets(session, system_ids=[row.id for row in stored])
    at = now()
    rows = [estate_row(row, tickets.get(row.id, []), at) for row in stored]
    return EstatePage(rows=rows, total=total, query=query, counts=estate_counts(session))


@dataclass(frozen=True)
class Decision:
    """A request the signed-in principal may decide, with its time left."""

    request: ApprovalRequest
    deadline: str
    late: bool


def my_decisions(session: Session, principal: str, limit: int = 50) -> list[Decision]:
    """Pending requests `principal` may decide (never their own), soonest escalation first."""
    waiting, _ = list_requests(session, status="pending", principal=principal, limit=500)
    mine = sorted(
        (r for r in waiting if may_decide(r, principal)), key=lambda r: (r.escalate_at, r.id)
    )
    at = now()
    out = []
    for request in mine[:limit]:
        text, late = days_left(request.escalate_at, at)
        out.append(Decision(request, f"escalates: {text}", late))
    return out


@dataclass(frozen=True)
class FieldDiff:
    """One manifest field as approved and as declared."""

    path: str
    approved: str
    declared: str

    @property
    def changed(self) -> bool:
        """Whether the declared value differs from the approved one."""
        return self.approved != self.declared


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """A manifest as dotted paths to display strings."""
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key, item in value.items():
            out |= flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(value, list) and value and isinstance(value[0], dict):
        out = {}
        for index, item in enumerate(value):
            out |= flatten(item, f"{prefix}[{index}]")
        return out
    if isinstance(value, list):
        return {prefix: ", ".join(str(v) for v in value) or NONE}
    return {prefix: plain(value)}


def plain(value: Any) -> str:
    """A scalar for people: booleans as yes/no, nothing as a dash."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return NONE if value is None else str(value)


def manifest_diff(view: SystemView) -> list[FieldDiff]:
    """Every field of the declared manifest beside the approved one (pilot: declared only)."""
    declared = flatten(view.manifest.model_dump(mode="json"))
    approved = (
        flatten(view.approved_manifest.model_dump(mode="json"))
        if view.approved_manifest is not None
        else {}
    )
    paths = list(declared) + [p for p in approved if p not in declared]
    return [FieldDiff(p, approved.get(p, NONE), declared.get(p, NONE)) for p in paths]


REVIEWED_KINDS = frozenset({RequestKind.promotion, RequestKind.revalidation})
"""Requests that ask to approve a manifest: their page shows what would be approved."""


def fingerprint(reference: str) -> str:
    """A short SHA-256 fingerprint of a vault reference (the reference itself is not shown)."""
    return "sha256:" + hashlib.sha256(reference.encode()).hexdigest()[:12] if reference else "—"


def _masked(path: str, value: str) -> str:
    """A vault reference as its fingerprint; any other value as it is."""
    return fingerprint(value) if path.endswith("vault_ref") and value != NONE else value


def review_diff(view: SystemView | None, request: ApprovalRequest) -> list[FieldDiff] | None:
    """The fields the manifest under review changes from the approved one (a promotion: every
    field, nothing approved yet), while the request is the system's pending one; else None.

    `environment` is left out (the lifecycle state says where an approved system runs), and a
    vault reference shows as its fingerprint (the page is linked from Slack and tickets).
    """
    pending = view.pending_request if view is not None else None
    if view is None or pending is None or pending.id != request.id:
        return None
    if request.kind not in REVIEWED_KINDS:
        return None
    return [
        FieldDiff(d.path, _masked(d.path, d.approved), _masked(d.path, d.declared))
        for d in manifest_diff(view)
        if d.changed and d.path != "environment"
    ]


def gates(view: SystemView) -> list[GateResult]:
    """The deploy gate per environment, by the workflow's own pure rule over this view."""
    now = datetime.now(UTC)
    return [
        system_gate(view.system_id, view, environment, Scope.approved, now)
        for environment in Environment
    ]


@dataclass(frozen=True)
class CredentialLine:
    """A declared credential and the gaps that name it."""

    id: str
    kind: str
    environment: str
    owner: str
    expires_at: str
    scopes: str
    gaps: list[str]
    revocation: str = ""


def credentials(view: SystemView) -> list[CredentialLine]:
    """The system's credentials (no secret values: only vault references exist) with gaps and
    revocation status (requested, confirmed or failed, from the workflow's revocation records)."""
    gaps = view.production_requirements.gaps
    lines = []
    for index, cred in enumerate(view.manifest.credentials):
        mine = [g.message for g in gaps if g.field.startswith(f"credentials[{index}]")]
        lines.append(
            CredentialLine(
                id=cred.id,
                kind=cred.kind.value,
                environment=cred.environment.value,
                owner=cred.owner or NONE,
                expires_at=cred.expires_at.date().isoformat() if cred.expires_at else NONE,
                scopes=", ".join(cred.scopes) or NONE,
                gaps=mine,
                revocation=view.revocations.get(cred.id, ""),
            )
        )
    return lines


def now() -> datetime:
    """The current time (UTC)."""
    return datetime.now(UTC)
