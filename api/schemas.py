"""Public request and response models of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from domain.approvals import ApprovalRequest
from domain.changes import ChangeAssessment
from domain.contracts import CommandResult, SystemView
from domain.dormancy import Dormant
from domain.policy import Role
from domain.secrets import FreeText
from domain.waivers import GapException

T = TypeVar("T")


class Body(BaseModel):
    """Request bodies refuse unknown fields."""

    model_config = ConfigDict(extra="forbid")


class PromotionIn(Body):
    """Ask for production approval."""

    comment: FreeText = Field(default="", max_length=2000)


class DecisionIn(Body):
    """Approve or reject a request as the caller."""

    approve: bool
    comment: FreeText = Field(default="", max_length=2000)
    role: Role | None = None


class RetireIn(Body):
    """Retire a system."""

    reason: FreeText = Field(min_length=1, max_length=2000)


class RecertifyIn(Body):
    """Attest a system's recertification checklist (approve), or refuse it with a reason."""

    approve: bool = True
    comment: FreeText = Field(default="", max_length=2000)


class ExceptionIn(Body):
    """Ask security to waive one gap until a moment (`until`: a date or a timestamp)."""

    gap: FreeText = Field(min_length=1, max_length=100)
    until: datetime
    reason: FreeText = Field(min_length=1, max_length=2000)


class RevokeIn(Body):
    """End an exception early, or revoke a credential: why."""

    reason: FreeText = Field(default="", max_length=2000)


class ExceptionOut(BaseModel):
    """One exception with its system (the exceptions list)."""

    system_id: str
    system_state: str
    exception: GapException


class PolicyApplied(BaseModel):
    """What applying the policy did to each running system."""

    policy: str
    systems: dict[str, str] = Field(description="system id → what changed, or why it failed")


class TokenIn(Body):
    """Issue a token for a principal."""

    principal: str = Field(min_length=3, max_length=320)
    role: str
    label: FreeText = Field(default="", max_length=200)
    expires: str | None = Field(
        default=None,
        max_length=20,
        description="Lifetime such as 30d, 2w, 12h; default 90 days for non-admin roles "
        "(admin: never), at most `api.token_max_days`",
    )


class CommandOut(BaseModel):
    """What a command did."""

    command_id: str
    message: str
    system: SystemView
    duplicate: bool = Field(
        default=False,
        description="Already applied under this Idempotency-Key: this is the first answer again.",
    )

    @classmethod
    def of(cls, result: CommandResult) -> CommandOut:
        """The response for a command's result."""
        return cls(
            command_id=result.command_id,
            message=result.message,
            system=result.system,
            duplicate=result.duplicate,
        )


class DecisionOut(BaseModel):
    """A request after a decision; a closing decision also shows the system it moved."""

    command_id: str
    message: str
    request: ApprovalRequest
    system: SystemView | None = None
    duplicate: bool = False


class SystemSummary(BaseModel):
    """One row of the systems list (from the projection)."""

    id: str
    name: str
    state: str
    environment: str
    risk_tier: str
    applies: bool
    business_owner: str | None
    technical_owner: str | None
    pending_request_id: str | None
    recertification_due_at: datetime | None = None
    overdue_since: datetime | None = None
    exception_expires_at: datetime | None = None
    updated_at: datetime


class Page(BaseModel, Generic[T]):
    """A page of results with the total for paging."""

    items: list[T]
    total: int
    limit: int
    offset: int


class TokenOut(BaseModel):
    """A token's public record (never its value or hash)."""

    id: str
    principal: str
    role: str
    label: str
    created_at: datetime
    revoked_at: datetime | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None


class TokenIssued(TokenOut):
    """A newly issued token; `token` is shown once and never again.

    A repeat of an issue with the same `Idempotency-Key` answers 200 with the first token's
    record, `repeat: true` and `token: null`: the value is never stored, so it cannot be shown
    again (revoke the token and issue a new one if it was lost).
    """

    token: str | None = Field(description="The token value: in the first answer only")
    repeat: bool = False
    message: str = ""


class TicketPublic(BaseModel):
    """A change-request ticket (Jira issue or local tracker entry) for one approval request."""

    model_config = ConfigDict(from_attributes=True)
    key: str
    request_id: str
    system_id: str
    kind: str
    summary: str
    status: str = Field(description="open, done or rejected")
    tracker: str = Field(description="jira or local")
    url: str | None = None
    created_at: datetime
    updated_at: datetime


class TicketComment(BaseModel):
    """One comment or transition delivered to a ticket."""

    model_config = ConfigDict(from_attributes=True)
    event: str
    body: str
    at: datetime


class TicketDetail(TicketPublic):
    """A ticket with its description and everything delivered to it."""

    description: str
    comments: list[TicketComment] = Field(default_factory=list)


class EventOut(BaseModel):
    """What one scope-change event did: `status` is its HTTP status (batches: per item)."""

    status: int
    id: str | None = None
    source: str | None = None
    subject: str | None = None
    duplicate: bool = Field(default=False, description="Already applied once; not applied again.")
    message: str
    state: str | None = None
    material: bool | None = None
    request_id: str | None = Field(default=None, description="The open revalidation request.")
    assessment: ChangeAssessment | None = None
    problems: list[dict[str, str]] = Field(default_factory=list)
    system: SystemView | None = None


class BatchOut(BaseModel):
    """Per-item results of a CloudEvents batch; a bad item applies nothing of itself."""

    applied: int
    failed: int
    results: list[EventOut]


class ContainIn(Body):
    """Contain a system."""

    reason: FreeText = Field(min_length=1, max_length=2000)


class ReleaseIn(Body):
    """Ask to release a contained system."""

    comment: FreeText = Field(default="", max_length=2000)


class CredentialGap(BaseModel):
    """A credential gap with its OWASP NHI id."""

    code: str
    nhi: str | None = None
    field: str
    message: str


class CredentialOut(BaseModel):
    """One credential of one system in the inventory (a reference, never the secret)."""

    system_id: str
    system_state: str
    id: str
    kind: str
    environment: str
    owner: str | None = None
    scopes: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    expires_at: datetime | None = None
    rotation_days: int | None = None
    last_rotated_at: datetime | None = None
    vault_ref: str
    shared_with: list[str] = Field(default_factory=list)
    revocation: str | None = None
    gaps: list[CredentialGap] = Field(default_factory=list)


class ActionsOut(BaseModel):
    """What an action batch did."""

    accepted: int
    duplicates: int
    findings: int
    first_findings: list[dict[str, object]] = Field(default_factory=list)


class DormancyOut(BaseModel):
    """Credentials and systems with no recorded action for `days` days (OWASP NHI1)."""

    days: int = Field(description="The bound applied: policy credentials.dormancy_days or ?days.")
    credentials: list[Dormant] = Field(default_factory=list)
    systems: list[Dormant] = Field(default_factory=list)
