"""Block Kit for approval requests: one pure function from a request to a message."""

from __future__ import annotations

import json
from typing import Any

from domain.approvals import ApprovalRequest, RequestStatus

APPROVE_ACTION = "threshold_approve"
REJECT_ACTION = "threshold_reject"
REJECT_CALLBACK = "threshold_reject_reason"
REASON_BLOCK = "reason"
REASON_INPUT = "reason_input"
STATUS_ICON = {
    RequestStatus.pending: ":hourglass_flowing_sand:",
    RequestStatus.approved: ":white_check_mark:",
    RequestStatus.rejected: ":x:",
    RequestStatus.expired: ":alarm_clock:",
    RequestStatus.withdrawn: ":leftwards_arrow_with_hook:",
}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def headline(request: ApprovalRequest) -> str:
    """The plain-text line Slack shows in notifications."""
    icon = STATUS_ICON[request.status]
    return f"{icon} {request.summary} — {request.status.value}"


def _decisions(request: ApprovalRequest) -> str:
    lines = []
    for d in request.decisions:
        verb = "approved" if d.approve else "rejected"
        note = f": _{d.comment}_" if d.comment else ""
        lines.append(f"• {d.principal} {verb} as *{d.role.value}* via {d.via}{note}")
    return "\n".join(lines)


def _facts(request: ApprovalRequest, links: dict[str, str]) -> str:
    facts = [
        f"*System:* `{request.system_id}`   *Asked:* {request.kind.value}   "
        f"*Risk tier:* {request.risk_tier or 'n/a'}",
        f"*Requested by:* {request.requester}",
    ]
    if request.why:
        facts.append("*Why production governance applies:* " + "; ".join(request.why))
    if request.change:
        facts.append("*Change:* " + "; ".join(request.change))
    if request.waived:
        facts.append("*Gaps waived by exceptions:* " + "; ".join(request.waived))
    refs = [f"<{url}|{name}>" for name, url in links.items()]
    if request.ticket and not any(request.ticket in name for name in links):
        refs.append(f"ticket {request.ticket}")
    if refs:
        facts.append("*Links:* " + " · ".join(refs))
    return "\n".join(facts)


def approval_blocks(request: ApprovalRequest, links: dict[str, str]) -> list[dict[str, Any]]:
    """The message for a request; buttons only while it is pending."""
    blocks: list[dict[str, Any]] = [
        _section(f"*{headline(request)}*"),
        _section(_facts(request, links)),
    ]
    if request.decisions:
        blocks.append(_section(_decisions(request)))
    if request.status is RequestStatus.pending:
        pending = ", ".join(r.value for r in request.pending_roles)
        escalation = " (escalated to the fallback group)" if request.escalated else ""
        blocks.append(
            _context(
                f"Still needed: *{pending}*{escalation}. Escalates "
                f"<!date^{int(request.escalate_at.timestamp())}^{{date_short_pretty}} {{time}}|"
                f"{request.escalate_at:%Y-%m-%d %H:%M} UTC>."
            )
        )
        blocks.append(
            {
                "type": "actions",
                "block_id": f"decide:{request.id}",
                "elements": [
                    _button("Approve", APPROVE_ACTION, request.id, "primary"),
                    _button("Reject", REJECT_ACTION, request.id, "danger"),
                ],
            }
        )
    else:
        reason = f": {request.reason}" if request.reason else ""
        blocks.append(_context(f"Closed — *{request.status.value}*{reason}"))
    return blocks


def _button(text: str, action_id: str, value: str, style: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
        "style": style,
    }


def reminder_text(request: ApprovalRequest) -> str:
    """A reminder to the people a pending request still waits for."""
    pending = ", ".join(r.value for r in request.pending_roles)
    return (
        f":bell: Reminder: *{request.summary}* still needs {pending}. It escalates at "
        f"{request.escalate_at:%Y-%m-%d %H:%M} UTC."
    )


def reject_modal(request_id: str, origin: dict[str, str]) -> dict[str, Any]:
    """The modal asking for a rejection reason; `origin` names the clicked message."""
    return {
        "type": "modal",
        "callback_id": REJECT_CALLBACK,
        "private_metadata": json.dumps({"request_id": request_id, **origin}),
        "title": {"type": "plain_text", "text": "Reject request"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": {"type": "plain_text", "text": f"Why reject {request_id}?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_INPUT,
                    "multiline": True,
                    "min_length": 3,
                },
            }
        ],
    }
