"""Just-in-time action approvals: the request a `require_approval` answer opens, and its rules.

A use case's `human_approval` names actions a person must approve before the AI takes them.
When authorize answers `require_approval`, the system's workflow opens an approval request of
kind `action`: the same four-eyes and no-self-approval rules, Slack buttons and dashboard as
every request, decided by `approvals.action_approver_roles`, time-boxed by
`approvals.action_expire_minutes` (escalating to the fallback group halfway).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.approvals import ApprovalRequest, RequestKind, RequestStatus
from domain.authorize import AuthorizeRequest
from domain.contracts import ActionApproval, SystemView
from domain.errors import Conflict, InvalidInput, Problem
from domain.lifecycle import LifecycleState
from domain.policy import Policy, Role
from domain.scope import new_request, next_request_id, role_holders

KEEP_CLOSED = 20
"""How many closed action approvals a system's record keeps beside the open ones."""

CLOSED_STATES = (LifecycleState.contained, LifecycleState.retired)


def action_name(ask: AuthorizeRequest) -> str:
    """The name matched against `human_approval` (the action, else the tool), lower case."""
    return (ask.action or ask.tool).lower()


def approver_roles(view: SystemView, policy: Policy) -> list[Role]:
    """The policy's action approver roles that someone holds on this system."""
    return [
        r for r in policy.approvals.action_approver_roles if role_holders(view.in_force, policy, r)
    ]


def check_opening(view: SystemView, policy: Policy, ask: AuthorizeRequest) -> None:
    """Refuse an approval that could never allow the action (closed system, no such action)."""
    if view.state in CLOSED_STATES:
        raise Conflict(f"system {view.system_id} is {view.state.value}; it takes no approvals")
    named = {a.lower() for u in view.in_force.use_cases for a in u.human_approval}
    name = action_name(ask)
    if name not in named:
        raise InvalidInput(
            f"{name} is not an action the use cases of {view.system_id} put under human approval",
            [Problem("action", "name an action listed under a use case's human_approval")],
        )
    if not approver_roles(view, policy):
        roles = ", ".join(r.value for r in policy.approvals.action_approver_roles)
        raise Conflict(
            f"no one holds the action approver roles ({roles}) on {view.system_id}",
            [Problem("policy.approvals.action_approver_roles", "name owners or add members")],
        )


def action_request(
    view: SystemView, policy: Policy, ask: AuthorizeRequest, requester: str, now: datetime
) -> ApprovalRequest:
    """The approval request for one action, expiring after the policy's minutes."""
    name = action_name(ask)
    minutes = policy.approvals.action_expire_minutes
    change = [f"action: {name}", f"tool: {ask.tool} ({ask.access})"]
    change += [f"target: {ask.target}"] if ask.target else []
    change += [f"credential: {ask.credential_id}"] if ask.credential_id else []
    change += [f"environment: {ask.environment.value}", f"trace: {ask.trace_id}"]
    request = new_request(
        request_id=next_request_id(view),
        view=view,
        policy=policy,
        requester=requester,
        kind=RequestKind.action,
        roles=approver_roles(view, policy),
        summary=f"Allow {view.in_force.name} ({view.system_id}) to {name} now",
        production=view.production_requirements,
        now=now,
        change=change,
    )
    return request.model_copy(
        update={
            "escalate_at": now + timedelta(minutes=minutes / 2),
            "expires_at": now + timedelta(minutes=minutes),
            "remind_at": None,
        }
    )


def opened(request: ApprovalRequest, command_id: str, ask: AuthorizeRequest) -> ActionApproval:
    """The system record's entry for a newly opened action approval."""
    return ActionApproval(
        request_id=request.id,
        command_id=command_id,
        action=action_name(ask),
        ask=ask,
        asked_by=request.requester,
        expires_at=request.expires_at,
    )


def settle(entries: list[ActionApproval], request: ApprovalRequest) -> list[ActionApproval]:
    """The entries once `request` closed: its status and approvers, old closed ones dropped."""
    done = [
        e.model_copy(update={"status": request.status.value, "approvers": request.approvers})
        if e.request_id == request.id
        else e
        for e in entries
    ]
    closed = [e.request_id for e in done if e.status != RequestStatus.pending.value]
    dropped = set(closed[:-KEEP_CLOSED])  # the oldest closed ones beyond KEEP_CLOSED
    return [e for e in done if e.request_id not in dropped]


def entry_for(view: SystemView, command_id: str) -> ActionApproval | None:
    """The action approval a command opened (None once it aged out of the record)."""
    return next((e for e in view.action_approvals if e.command_id == command_id), None)


def entry_of(view: SystemView, request_id: str) -> ActionApproval | None:
    """The system record's entry for one action approval (None: not this system's)."""
    return next((e for e in view.action_approvals if e.request_id == request_id), None)
