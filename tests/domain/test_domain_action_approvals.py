"""Just-in-time action approvals: what may be opened, who decides, how long it stays open."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from domain.action_approvals import KEEP_CLOSED, action_request, check_opening, opened, settle
from domain.approvals import DecisionCommand, RequestKind, RequestStatus, apply_decision
from domain.authorize import AuthorizeRequest
from domain.contracts import ActionApproval
from domain.deadlines import deadlines, next_deadline
from domain.errors import Conflict, Forbidden, InvalidInput
from domain.lifecycle import LifecycleState
from domain.policy import Policy, Role
from tests.domain.test_domain_dormancy import NOW, view_of

RUNTIME = "agent-runtime@example.com"


def ask(**fields: Any) -> AuthorizeRequest:
    """The support assistant asking to send a reply (override any field)."""
    return AuthorizeRequest.model_validate(
        {
            "system": "support-assistant",
            "environment": "production",
            "tool": "search_kb",
            "access": "read",
            "action": "Send reply to customer",
            "trace_id": "t-1",
            **fields,
        }
    )


def test_the_request_asks_the_business_owner_and_expires_in_minutes(
    support_data: dict[str, Any], policy: Policy
) -> None:
    """By default the business owner decides; it escalates halfway and expires after 15 min;
    the runtime that asked may not approve it and the technical owner holds no seat on it."""
    view = view_of(support_data, policy, LifecycleState.production)
    request = action_request(view, policy, ask(), RUNTIME, NOW)
    assert request.kind is RequestKind.action
    assert request.required_roles == [Role.business_owner]
    assert request.expires_at - NOW == timedelta(minutes=15)
    assert request.escalate_at - NOW == timedelta(minutes=7.5)
    assert request.remind_at is None
    assert "action: send reply to customer" in request.change
    business = str(view.manifest.business_owner)
    with pytest.raises(Forbidden, match="four-eyes"):
        apply_decision(request, DecisionCommand(principal=RUNTIME, approve=True), NOW)
    with pytest.raises(Forbidden, match="holds none"):
        apply_decision(
            request,
            DecisionCommand(principal=str(view.manifest.technical_owner), approve=True),
            NOW,
        )
    approved = apply_decision(request, DecisionCommand(principal=business, approve=True), NOW)
    assert approved.status is RequestStatus.approved


def test_opening_refuses_closed_systems_unnamed_actions_and_empty_seats(
    support_data: dict[str, Any], policy: Policy
) -> None:
    """A contained system, an action no use case names, or roles no one holds open nothing."""
    production = view_of(support_data, policy, LifecycleState.production)
    check_opening(production, policy, ask())
    with pytest.raises(Conflict, match="contained"):
        check_opening(view_of(support_data, policy, LifecycleState.contained), policy, ask())
    with pytest.raises(InvalidInput, match="not an action"):
        check_opening(production, policy, ask(action="wire money"))
    only_privacy = policy.model_copy(
        update={
            "approvals": policy.approvals.model_copy(
                update={"action_approver_roles": [Role.privacy]}
            ),
            "role_groups": {**policy.role_groups, "privacy": []},
        }
    )
    with pytest.raises(Conflict, match="no one holds"):
        check_opening(production, only_privacy, ask())


def test_settled_entries_keep_their_outcome_and_only_the_recent_closed_ones(
    support_data: dict[str, Any], policy: Policy
) -> None:
    """A settled approval keeps its status and approvers; old closed entries age out."""
    view = view_of(support_data, policy, LifecycleState.production)
    entries: list[ActionApproval] = []
    for n in range(KEEP_CLOSED + 3):
        request = action_request(view, policy, ask(trace_id=f"t-{n}"), RUNTIME, NOW)
        request = request.model_copy(update={"id": f"support-assistant-{n}"})
        entries = [*entries, opened(request, f"c-{n}", ask())]
        if n:
            closed = request.model_copy(update={"status": RequestStatus.expired})
            entries = settle(entries, closed)
    assert entries[0].request_id == "support-assistant-0" and entries[0].status == "pending"
    assert len(entries) == 1 + KEEP_CLOSED
    assert entries[-1].status == "expired"


def test_an_open_approval_is_the_system_s_nearest_deadline_until_it_settles(
    support_data: dict[str, Any], policy: Policy
) -> None:
    """The dashboard's urgency order puts a system with an open action approval (minutes left)
    ahead of its recertification; once settled it is no deadline any more."""
    view = view_of(support_data, policy, LifecycleState.production)
    request = action_request(view, policy, ask(), RUNTIME, NOW)
    with_open = view.model_copy(update={"action_approvals": [opened(request, "c-1", ask())]})
    nearest = next_deadline(with_open)
    assert nearest is not None and nearest.what == "action approval expiry"
    assert nearest.at == NOW + timedelta(minutes=15)
    closed = request.model_copy(update={"status": RequestStatus.approved})
    settled = with_open.model_copy(
        update={"action_approvals": settle(with_open.action_approvals, closed)}
    )
    assert all(d.what != "action approval expiry" for d in deadlines(settled))
