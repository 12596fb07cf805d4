"""Change-request text for an approval request: label, summary, description, comments.

Pure functions, shared by Jira and the local tracker. Text uses Jira wiki markup (`*bold*`,
`* item`), which reads fine as plain text too.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from domain.approvals import ApprovalRequest, Decision, RequestStatus
from domain.policy import Role

LABEL_LIMIT = 255
LABEL = re.compile(r"[A-Za-z0-9._-]{1,255}")
UNSAFE_LABEL_CHARS = re.compile(r"[^A-Za-z0-9._-]")
SUMMARY_PREFIX = "[Threshold]"
DONE, REJECTED, OPEN = "done", "rejected", "open"
ASKED = {
    "promotion": "approval to run the system in production",
    "revalidation": "revalidation of a material change to a production system",
    "recertification": "recertification of a production system",
    "exception": "an exception to a governance gap",
    "release": "release of a contained system",
}


@dataclass(frozen=True)
class TicketNote:
    """One comment a ticket should carry: a stable event name, when it happened, the text."""

    event: str
    at: datetime
    body: str


def ticket_label(request_id: str, prefix: str = "") -> str:
    """The deterministic label that finds a request's issue (Jira labels allow no spaces)."""
    raw = f"threshold-{prefix}{request_id}"
    label = UNSAFE_LABEL_CHARS.sub("-", raw)
    if label != raw:  # keep distinct ids distinct after replacing characters
        label += "-" + hashlib.sha256(raw.encode()).hexdigest()[:8]
    if len(label) > LABEL_LIMIT:
        label = label[: LABEL_LIMIT - 9] + "-" + hashlib.sha256(raw.encode()).hexdigest()[:8]
    return label


def ticket_summary(request: ApprovalRequest) -> str:
    """The issue summary: what is asked, for which system."""
    return f"{SUMMARY_PREFIX} {request.summary}"


def _at(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _bullets(title: str, items: list[str]) -> list[str]:
    return [f"*{title}:*", *(f"* {item}" for item in items), ""] if items else []


def ticket_description(request: ApprovalRequest, api_url: str) -> str:
    """The issue description: system, what is asked, change and assessment, approvers, links."""
    asked = ASKED.get(request.kind.value, request.kind.value)
    lines = [
        f"Threshold approval request *{request.id}* asks for {asked}.",
        "",
        f"*System:* {request.system_id}",
        f"*What is asked:* {request.summary}",
        f"*Kind:* {request.kind.value}",
        f"*Requested by:* {request.requester}",
        f"*Risk tier:* {request.risk_tier or 'n/a'}",
        f"*Opened:* {_at(request.opened_at)}; escalates {_at(request.escalate_at)}; "
        f"expires {_at(request.expires_at)}",
        "",
    ]
    lines += _bullets("Change", request.change)
    lines += _bullets("Assessment: why production governance applies", request.why)
    lines += _bullets("Gaps waived by exceptions", request.waived)
    approvers = [
        f"{role.value}: {', '.join(request.eligible.get(role, [])) or 'nobody eligible'}"
        for role in request.required_roles
    ]
    lines += _bullets("Approvers needed (one per role)", approvers)
    if request.fallback:
        lines += [f"*After escalation also:* {', '.join(request.fallback)}", ""]
    lines += [
        f"*Decide:* threshold approve {request.id} | threshold reject {request.id} --reason ...",
        f"*Request page:* {api_url}/requests/{request.id}",
        f"*API:* {api_url}/api/v1/requests/{request.id}",
    ]
    return "\n".join(lines)


def _decision_note(number: int, decision: Decision) -> TicketNote:
    verb = "approved" if decision.approve else "rejected"
    comment = f": {decision.comment}" if decision.comment else ""
    body = f"{decision.principal} *{verb}* as {decision.role.value} (via {decision.via}){comment}"
    return TicketNote(f"decision-{number}", decision.at, body)


def _escalation_note(request: ApprovalRequest) -> TicketNote:
    filled = {d.role for d in request.decisions if d.approve and d.at <= request.escalate_at}
    waiting = [r.value for r in request.required_roles if r not in filled]
    fallback = ", ".join(request.fallback) or "nobody"
    body = (
        f"*Escalated*: no decision in time from {', '.join(waiting) or 'no role'}; "
        f"the fallback group ({fallback}) may now decide the roles still pending."
    )
    return TicketNote("escalated", request.escalate_at, body)


def ticket_notes(request: ApprovalRequest) -> list[TicketNote]:
    """Every comment the ticket should carry by now: decisions, escalation, expiry, in order."""
    notes = [_decision_note(n, d) for n, d in enumerate(request.decisions, start=1)]
    if request.escalated:
        notes.append(_escalation_note(request))
    if request.status is RequestStatus.expired:
        waiting = ", ".join(r.value for r in request.pending_roles) or "no role"
        body = f"*Expired*: not decided by {_at(request.expires_at)} (still needed: {waiting})."
        notes.append(TicketNote("expired", request.closed_at or request.expires_at, body))
    if request.status is RequestStatus.withdrawn:
        body = f"*Withdrawn*: {request.reason or 'closed without a decision'}."
        notes.append(TicketNote("withdrawn", request.closed_at or request.opened_at, body))
    return sorted(notes, key=lambda note: note.at)


def closing_status(request: ApprovalRequest) -> str | None:
    """`done` for an approved request, `rejected` for any other closed one, None while pending."""
    if request.status is RequestStatus.pending:
        return None
    return DONE if request.status is RequestStatus.approved else REJECTED


def closing_note(request: ApprovalRequest) -> str:
    """One line saying how the request ended."""
    reason = f": {request.reason}" if request.reason else ""
    return f"Request {request.id} {request.status.value}{reason}"


def kind_label(kind: str) -> str:
    """The label every ticket of one request kind carries (`threshold-promotion`, ...)."""
    return UNSAFE_LABEL_CHARS.sub("-", f"threshold-{kind}".replace("_", "-"))


def technical_owner(request: ApprovalRequest) -> str | None:
    """Who the ticket is assigned to: the first person holding the technical-owner seat."""
    holders = request.eligible.get(Role.technical_owner) or []
    return holders[0].lower() if holders else None


def closing_comment(request: ApprovalRequest) -> str:
    """The comment a ticket gets when its request closes: the outcome and who decided it."""
    approved = [f"{d.principal} ({d.role.value})" for d in request.decisions if d.approve]
    refused = [f"{d.principal} ({d.role.value})" for d in request.decisions if not d.approve]
    lines = [
        f"*Outcome: {request.status.value}*" + (f": {request.reason}" if request.reason else "")
    ]
    if approved:
        lines.append(f"Approved by {', '.join(approved)}.")
    if refused:
        lines.append(f"Rejected by {', '.join(refused)}.")
    if request.status is RequestStatus.expired:
        waiting = ", ".join(r.value for r in request.pending_roles) or "no role"
        lines.append(f"Not decided by {_at(request.expires_at)}; still needed: {waiting}.")
    closed = request.closed_at or request.expires_at
    lines.append(f"Closed {_at(closed)}. Threshold request {request.id}.")
    return "\n".join(lines)
