"""Block Kit for approval requests: one pure function from a request to a message."""

from __future__ import annotations

import json
from typing import Any

from domain.approvals import ApprovalRequest, RequestKind, RequestStatus

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


def _facts(request: ApprovalRequest, requester: str) -> dict[str, Any]:
    """The request's short facts as a two-column section (`fields`, at most 10)."""
    facts = {
        "System": f"`{request.system_id}`",
        "Asked": request.kind.value,
        "Risk tier": request.risk_tier or "n/a",
        "Requested by": requester,
    }
    fields = [
        {"type": "mrkdwn", "text": f"*{name}:*\n{value}"[:2000]} for name, value in facts.items()
    ]
    return {"type": "section", "fields": fields}


def _details(request: ApprovalRequest, links: dict[str, str]) -> str:
    lines = []
    if request.why:
        lines.append("*Why production governance applies:* " + "; ".join(request.why))
    if request.change:
        lines.append("*Change:* " + "; ".join(request.change))
    if request.waived:
        lines.append("*Gaps waived by exceptions:* " + "; ".join(request.waived))
    refs = [f"<{url}|{name}>" for name, url in links.items()]
    if request.ticket and not any(request.ticket in name for name in links):
        refs.append(f"ticket {request.ticket}")
    if refs:
        lines.append("*Links:* " + " · ".join(refs))
    return "\n".join(lines)


def requester_text(email: str, user_id: str | None) -> str:
    """The requester as a Slack mention when Slack knows their e-mail, else the e-mail."""
    return f"<@{user_id}>" if user_id else email


def _confirm(request: ApprovalRequest) -> dict[str, Any]:
    """The dialog Slack shows before an Approve click on a production promotion is sent."""
    return {
        "title": {"type": "plain_text", "text": "Approve for production?"},
        "text": {
            "type": "mrkdwn",
            "text": f"You approve *{request.system_id}* to run in production "
            f"(request {request.id}). This is recorded in the audit ledger."[:300],
        },
        "confirm": {"type": "plain_text", "text": "Approve"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }


def approval_blocks(
    request: ApprovalRequest, links: dict[str, str], requester: str | None = None
) -> list[dict[str, Any]]:
    """The message for a request; buttons only while it is pending.

    `requester` is how to show who asked (a `<@U…>` mention); the e-mail when None.
    """
    blocks: list[dict[str, Any]] = [
        _section(f"*{headline(request)}*"),
        _facts(request, requester or request.requester),
    ]
    details = _details(request, links)
    if details:
        blocks.append(_section(details))
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
                    _button(
                        "Approve", APPROVE_ACTION, request.id, "primary", _approve_confirm(request)
                    ),
                    _button("Reject", REJECT_ACTION, request.id, "danger"),
                ],
            }
        )
    else:
        reason = f": {request.reason}" if request.reason else ""
        blocks.append(_context(f"Closed — *{request.status.value}*{reason}"))
    return blocks


def _approve_confirm(request: ApprovalRequest) -> dict[str, Any] | None:
    """A confirm dialog for production promotions; other approvals need none."""
    return _confirm(request) if request.kind is RequestKind.promotion else None


def _button(
    text: str, action_id: str, value: str, style: str, confirm: dict[str, Any] | None = None
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
        "style": style,
    }
    if confirm is not None:
        button["confirm"] = confirm
    return button


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
