"""Approval requests and the rules for deciding them (four-eyes, no self-approval)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import Conflict, Forbidden, InvalidInput, Problem
from domain.policy import Role
from domain.secrets import FreeText


class RequestKind(StrEnum):
    """What an approval request asks for."""

    promotion = "promotion"
    revalidation = "revalidation"
    recertification = "recertification"
    exception = "exception"
    release = "release"
    action = "action"


class RequestStatus(StrEnum):
    """Where an approval request stands."""

    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    expired = "expired"
    withdrawn = "withdrawn"


class Decision(BaseModel):
    """One person's decision for one role."""

    model_config = ConfigDict(frozen=True)
    principal: str
    role: Role
    approve: bool
    comment: str = ""
    at: datetime
    via: str = "api"


class ApprovalRequest(BaseModel):
    """A request for approval, with who may fill each role and what was decided."""

    model_config = ConfigDict(frozen=True)
    id: str
    system_id: str
    kind: RequestKind
    summary: str
    requester: str
    required_roles: list[Role]
    eligible: dict[Role, list[str]]
    fallback: list[str] = Field(default_factory=list)
    opened_at: datetime
    escalate_at: datetime
    expires_at: datetime
    remind_at: datetime | None = None
    status: RequestStatus = RequestStatus.pending
    escalated: bool = False
    decisions: list[Decision] = Field(default_factory=list)
    closed_at: datetime | None = None
    reason: str = ""
    risk_tier: str = ""
    why: list[str] = Field(default_factory=list, description="Why production governance applies")
    waived: list[str] = Field(default_factory=list, description="Gaps waived by exceptions")
    change: list[str] = Field(default_factory=list, description="What changed, for revalidation")
    ticket: str | None = None

    @property
    def approvers(self) -> list[str]:
        """Who approved, in decision order."""
        return [d.principal for d in self.decisions if d.approve]

    @property
    def pending_roles(self) -> list[Role]:
        """Roles still waiting for an approval."""
        filled = {d.role for d in self.decisions if d.approve}
        return [r for r in self.required_roles if r not in filled]

    def holders(self, role: Role) -> list[str]:
        """Who may fill a role now (the fallback group joins once escalated)."""
        people = list(self.eligible.get(role, []))
        return people + self.fallback if self.escalated else people


class DecisionCommand(BaseModel):
    """A principal's approve or reject, optionally naming the role they decide as."""

    model_config = ConfigDict(frozen=True)
    principal: str
    approve: bool
    role: Role | None = None
    comment: FreeText = ""
    via: str = "api"


def choose_role(request: ApprovalRequest, command: DecisionCommand) -> Role:
    """Check a decision against every rule and return the role it fills; raise if refused."""
    who = command.principal.lower()
    if request.status is not RequestStatus.pending:
        raise Conflict(
            f"request {request.id} is already {request.status.value}; it takes no decision"
        )
    if who == request.requester.lower():
        raise Forbidden(
            f"{command.principal} requested this change and cannot decide on it (four-eyes rule)"
        )
    if any(d.principal.lower() == who for d in request.decisions):
        raise Conflict(f"{command.principal} already decided on request {request.id}")
    if not command.approve and not command.comment.strip():
        raise InvalidInput(
            "a rejection needs a reason", [Problem("comment", "say why you reject the request")]
        )
    pending = request.pending_roles
    if command.role is not None:
        if command.role not in request.required_roles:
            needed = ", ".join(r.value for r in request.required_roles)
            raise InvalidInput(
                f"role {command.role.value} is not required on this request",
                [Problem("role", f"use one of: {needed}")],
            )
        if command.role not in pending:
            raise Conflict(
                f"role {command.role.value} was already approved on request {request.id}"
            )
        candidates = [command.role]
    else:
        candidates = pending
    for role in candidates:
        if who in (p.lower() for p in request.holders(role)):
            return role
    still = ", ".join(r.value for r in pending) or "none"
    raise Forbidden(
        f"{command.principal} holds none of the roles this request still needs ({still})"
    )


def may_decide(request: ApprovalRequest, principal: str) -> bool:
    """Whether `principal` could decide this request now (the rules of `choose_role`)."""
    who = principal.lower()
    if request.status is not RequestStatus.pending or who == request.requester.lower():
        return False
    if any(d.principal.lower() == who for d in request.decisions):
        return False
    return any(who in (p.lower() for p in request.holders(r)) for r in request.pending_roles)


def apply_decision(
    request: ApprovalRequest, command: DecisionCommand, now: datetime
) -> ApprovalRequest:
    """Record a decision (already checked) and settle the request if it is complete."""
    role = choose_role(request, command)
    decision = Decision(
        principal=command.principal.lower(),
        role=role,
        approve=command.approve,
        comment=command.comment,
        at=now,
        via=command.via,
    )
    decisions = [*request.decisions, decision]
    update: dict[str, object] = {"decisions": decisions}
    if not command.approve:
        update |= {"status": RequestStatus.rejected, "closed_at": now, "reason": command.comment}
    elif all(r in {d.role for d in decisions if d.approve} for r in request.required_roles):
        update |= {"status": RequestStatus.approved, "closed_at": now}
    return request.model_copy(update=update)


def escalate(request: ApprovalRequest) -> ApprovalRequest:
    """Let the fallback group decide the roles still pending."""
    return request.model_copy(update={"escalated": True})


def withdraw(request: ApprovalRequest, now: datetime, reason: str) -> ApprovalRequest:
    """Close an undecided request as withdrawn (superseded or no longer needed)."""
    return request.model_copy(
        update={"status": RequestStatus.withdrawn, "closed_at": now, "reason": reason}
    )


def expire(request: ApprovalRequest, now: datetime) -> ApprovalRequest:
    """Close an undecided request as expired."""
    return request.model_copy(
        update={"status": RequestStatus.expired, "closed_at": now, "reason": "not decided in time"}
    )
