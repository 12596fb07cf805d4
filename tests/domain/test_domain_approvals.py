"""Approval rules: every role approves, any rejection rejects, four eyes, one role per person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.approvals import (
    ApprovalRequest,
    DecisionCommand,
    RequestKind,
    RequestStatus,
    apply_decision,
    choose_role,
    escalate,
    expire,
)
from domain.errors import Conflict, Forbidden, InvalidInput
from domain.policy import Role

NOW = datetime(2026, 11, 26, tzinfo=UTC)
REQUESTER = "rick.release@example.com"
DANA = "dana.business@example.com"
TOM = "tom.tech@example.com"
SAM = "sam.security@example.com"
GAIL = "gail.governance@example.com"


def request(**overrides: Any) -> ApprovalRequest:
    """A pending promotion request needing business owner, technical owner and security."""
    fields: dict[str, Any] = {
        "id": "req-1",
        "system_id": "support-assistant",
        "kind": RequestKind.promotion,
        "summary": "promote support-assistant to production",
        "requester": REQUESTER,
        "required_roles": [Role.business_owner, Role.technical_owner, Role.security],
        "eligible": {
            Role.business_owner: [DANA],
            Role.technical_owner: [TOM],
            Role.security: [SAM],
        },
        "fallback": [GAIL],
        "opened_at": NOW,
        "escalate_at": NOW + timedelta(hours=48),
        "expires_at": NOW + timedelta(hours=168),
    }
    return ApprovalRequest(**(fields | overrides))


def decide(
    req: ApprovalRequest,
    principal: str,
    *,
    approve: bool = True,
    role: Role | None = None,
    comment: str = "",
) -> ApprovalRequest:
    """Apply one decision an hour after the request opened."""
    command = DecisionCommand(principal=principal, approve=approve, role=role, comment=comment)
    return apply_decision(req, command, NOW + timedelta(hours=1))


def test_request_stays_pending_until_every_role_approves() -> None:
    """Two of three approvals leave the request pending, waiting on the remaining role."""
    req = decide(decide(request(), DANA), TOM)
    assert req.status is RequestStatus.pending
    assert req.pending_roles == [Role.security]
    assert req.closed_at is None


def test_last_approval_approves_the_request() -> None:
    """When every required role has approved, the request is approved and closed."""
    req = decide(decide(decide(request(), DANA), TOM), SAM)
    assert req.status is RequestStatus.approved
    assert req.closed_at == NOW + timedelta(hours=1)
    assert [(d.principal, d.role) for d in req.decisions] == [
        (DANA, Role.business_owner),
        (TOM, Role.technical_owner),
        (SAM, Role.security),
    ]


def test_any_rejection_rejects_the_request() -> None:
    """One rejection closes the request as rejected, with the rejection comment as reason."""
    req = decide(decide(request(), DANA), SAM, approve=False, comment="no DPIA on file")
    assert req.status is RequestStatus.rejected
    assert req.reason == "no DPIA on file"
    assert req.closed_at is not None


@pytest.mark.parametrize("comment", ["", "   "])
def test_rejection_needs_a_comment(comment: str) -> None:
    """A rejection without a reason is refused, naming the comment field."""
    with pytest.raises(InvalidInput) as caught:
        decide(request(), SAM, approve=False, comment=comment)
    assert [p.field for p in caught.value.problems] == ["comment"]


def test_requester_cannot_decide_even_holding_a_role() -> None:
    """The person who asked for the change may not approve it, even as its technical owner."""
    req = request(requester=TOM)
    with pytest.raises(Forbidden, match="four-eyes"):
        decide(req, "Tom.Tech@example.com")


def test_one_person_fills_only_one_role() -> None:
    """Someone who is both business and technical owner approves once, leaving the other role."""
    req = request(eligible={Role.business_owner: [DANA], Role.technical_owner: [DANA, TOM]})
    req = decide(req, DANA)
    assert req.pending_roles == [Role.technical_owner, Role.security]
    with pytest.raises(Conflict, match="already decided"):
        decide(req, DANA.upper())
    assert decide(req, TOM).pending_roles == [Role.security]


def test_only_role_holders_decide() -> None:
    """A person who holds none of the pending roles is refused, and the roles are listed."""
    with pytest.raises(Forbidden, match="business_owner, technical_owner, security"):
        decide(request(), "eve.outsider@example.com")


def test_holder_of_a_filled_role_cannot_decide() -> None:
    """A second holder of an already approved role has nothing left to decide."""
    req = request(eligible={Role.business_owner: [DANA, "bob.business@example.com"]})
    req = decide(req, DANA)
    with pytest.raises(Forbidden):
        decide(req, "bob.business@example.com")


def test_holders_match_case_insensitively() -> None:
    """A principal's email matches the role holder regardless of letter case."""
    req = decide(request(), "SAM.Security@Example.com")
    assert req.decisions[0].role is Role.security
    assert req.decisions[0].principal == SAM


@pytest.mark.parametrize(
    "closed",
    [
        decide(decide(decide(request(), DANA), TOM), SAM),
        decide(request(), SAM, approve=False, comment="not yet"),
        expire(request(), NOW + timedelta(hours=168)),
    ],
    ids=["approved", "rejected", "expired"],
)
def test_closed_request_takes_no_decision(closed: ApprovalRequest) -> None:
    """A request that is approved, rejected or expired refuses any further decision."""
    with pytest.raises(Conflict, match="takes no decision"):
        decide(closed, GAIL)


def test_expire_records_why() -> None:
    """Expiring a request closes it with the time and a reason a person can read."""
    req = expire(request(), NOW + timedelta(hours=168))
    assert req.status is RequestStatus.expired
    assert req.closed_at == NOW + timedelta(hours=168)
    assert req.reason == "not decided in time"


def test_fallback_group_decides_only_after_escalation() -> None:
    """The governance fallback may fill a pending role only once the request escalated."""
    req = decide(request(), DANA)
    with pytest.raises(Forbidden):
        decide(req, GAIL)
    escalated = escalate(req)
    filled = decide(escalated, GAIL)
    assert filled.decisions[-1].role is Role.technical_owner
    assert filled.pending_roles == [Role.security]


def test_fallback_cannot_take_an_approved_role() -> None:
    """After escalation the fallback still cannot decide a role that was already approved."""
    req = escalate(decide(request(), DANA))
    with pytest.raises(Conflict, match="already approved"):
        decide(req, GAIL, role=Role.business_owner)


def test_explicit_role_is_used() -> None:
    """A principal holding two roles can choose which one they decide as."""
    req = request(eligible={Role.technical_owner: [SAM], Role.security: [SAM]})
    assert choose_role(req, DecisionCommand(principal=SAM, approve=True)) is Role.technical_owner
    chosen = DecisionCommand(principal=SAM, approve=True, role=Role.security)
    assert choose_role(req, chosen) is Role.security


def test_explicit_role_not_required_is_invalid() -> None:
    """Naming a role the request does not need is refused, listing the roles it does need."""
    with pytest.raises(InvalidInput) as caught:
        decide(request(), SAM, role=Role.privacy)
    (problem,) = caught.value.problems
    assert problem.field == "role"
    assert "business_owner, technical_owner, security" in problem.message


def test_explicit_role_not_held_is_forbidden() -> None:
    """Naming a required role one does not hold is refused."""
    with pytest.raises(Forbidden):
        decide(request(), SAM, role=Role.business_owner)
