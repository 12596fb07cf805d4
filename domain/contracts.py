"""The contracts every layer shares: the system record, commands, results, audit events, batches.

Pydantic models exchanged with the workflows (versionable: fields are added, never renamed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.approvals import ApprovalRequest, DecisionCommand
from domain.audit import AuditAction
from domain.authorize import AuthorizeRequest
from domain.changes import ChangeAssessment
from domain.events import ScopeEvent
from domain.lifecycle import LifecycleState
from domain.manifest import AISystemManifest, Credential
from domain.policy import Policy, policy_digest
from domain.recertification import RecertificationStatus
from domain.requirements import GovernanceRequirements
from domain.transitions import Facts
from domain.waivers import GapException

TASK_QUEUE = "threshold"


def system_workflow_id(system_id: str, prefix: str = "") -> str:
    """The workflow id of a system's lifecycle workflow (`prefix` isolates deployments)."""
    return f"{prefix}ai-system:{system_id}"


def approval_workflow_id(request_id: str, prefix: str = "") -> str:
    """The workflow id of an approval request's workflow."""
    return f"{prefix}approval:{request_id}"


def dormancy_sweep_workflow_id(prefix: str = "") -> str:
    """The workflow id of the one dormancy sweep of a deployment (`prefix`)."""
    return f"{prefix}dormancy-sweep"


def id_prefix(workflow_id: str, system_id: str) -> str:
    """The deployment prefix of a system workflow id."""
    return workflow_id[: -len(system_workflow_id(system_id))]


class Model(BaseModel):
    """Base for workflow payloads."""

    model_config = ConfigDict(frozen=True)


class CommandMeta(Model):
    """Who sent a command and its idempotency id (also the Temporal update id)."""

    command_id: str = Field(min_length=1, max_length=200)
    principal: str


class PolicyRef(Model):
    """The policy a command is decided with: its digest, and the policy itself only when new.

    A workflow holds the policy it decides with; a command names the digest the sender
    loaded and carries the whole policy only when the workflow may not hold it yet.
    """

    digest: str
    policy: Policy | None = None

    @classmethod
    def full(cls, policy: Policy) -> PolicyRef:
        """A reference that carries the policy itself."""
        return cls(digest=policy_digest(policy), policy=policy)


class RegisterCommand(Model):
    """Register a new system from its manifest."""

    meta: CommandMeta
    manifest: AISystemManifest
    policy: Policy
    shared_credentials: dict[str, list[str]] = Field(default_factory=dict)
    at: datetime | None = Field(
        default=None, description="When the API accepted it: the registration time (start path)."
    )


class AmendCommand(Model):
    """Replace the declared manifest of a system in pilot."""

    meta: CommandMeta
    manifest: AISystemManifest
    policy: PolicyRef
    shared_credentials: dict[str, list[str]] = Field(default_factory=dict)


class PromoteCommand(Model):
    """Ask for approval to run the system in production."""

    meta: CommandMeta
    policy: PolicyRef
    shared_credentials: dict[str, list[str]] = Field(default_factory=dict)
    comment: str = ""


class ActionApprovalCommand(Model):
    """Open a just-in-time approval of one action a runtime was told needs a human."""

    meta: CommandMeta
    policy: PolicyRef
    ask: AuthorizeRequest
    reasons: list[str] = Field(default_factory=list, description="Why authorize asked.")


class ActionApproval(Model):
    """One just-in-time action approval of a system (open ones, then the most recent closed)."""

    request_id: str
    command_id: str
    action: str
    ask: AuthorizeRequest
    asked_by: str
    expires_at: datetime
    status: str = "pending"
    approvers: list[str] = Field(default_factory=list)


class ChangeCommand(Model):
    """A scope-change event for one system; `source#id` of the event is the command id."""

    meta: CommandMeta
    event: ScopeEvent
    policy: PolicyRef
    shared_credentials: dict[str, list[str]] = Field(default_factory=dict)


class RetireCommand(Model):
    """Retire a system for good."""

    meta: CommandMeta
    reason: str = Field(min_length=1)


class RecertifyCommand(Model):
    """Open the current cycle's recertification request now (before its due date, or again)."""

    meta: CommandMeta
    policy: PolicyRef


class GrantExceptionCommand(Model):
    """Ask security to waive one gap until a moment."""

    meta: CommandMeta
    policy: PolicyRef
    gap: str
    until: datetime
    reason: str
    shared_credentials: dict[str, list[str]] = Field(default_factory=dict)


class RevokeExceptionCommand(Model):
    """End a pending or active exception early."""

    meta: CommandMeta
    exception: str = Field(description="The exception's request id, or the gap it waives.")
    reason: str = ""
    as_admin: bool = Field(default=False, description="The caller's token has the admin role.")


class PolicyCommand(Model):
    """Apply the current policy to a running system (moves pending recertification timers)."""

    meta: CommandMeta
    policy: PolicyRef


class ContainCommand(Model):
    """Contain a system at once: every gate closes, its credentials go to the revoker."""

    meta: CommandMeta
    reason: str = Field(min_length=1)
    policy: PolicyRef | None = None


class ReleaseCommand(Model):
    """Ask security and the owners to release a contained system."""

    meta: CommandMeta
    policy: PolicyRef
    comment: str = ""


class ActionFindingSignal(Model):
    """The first finding of its kind in a system's action ledger."""

    code: str
    message: str
    nhi: str | None = None
    trace_id: str
    credential_id: str | None = None
    at: str
    policy: PolicyRef


class RevokeInput(Model):
    """Hand one credential to the revoker."""

    system_id: str
    credential: Credential
    reason: str


class RevokeResult(Model):
    """What the revoker said: confirmed, and its own words."""

    confirmed: bool
    revoker: str
    detail: str = ""


class DecideCommand(Model):
    """A decision on an approval request."""

    meta: CommandMeta
    decision: DecisionCommand


class DormancyEpisode(Model):
    """An open dormancy episode of one credential (or the system): idle since, its review."""

    idle_since: datetime
    ticket_id: str = Field(description="The review ticket's id (its key is in the tickets).")
    finding: bool = False


class AuditEvent(Model):
    """One governance event for the audit ledger; `event_key` makes the write idempotent."""

    event_key: str
    system_id: str
    at: datetime
    actor: str
    action: AuditAction
    request_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class SystemView(Model):
    """Everything known about a system now: the query result and the projection row."""

    system_id: str
    state: LifecycleState
    manifest: AISystemManifest
    approved_manifest: AISystemManifest | None = None
    requirements: GovernanceRequirements
    production_requirements: GovernanceRequirements
    pending_request: ApprovalRequest | None = None
    request_ids: list[str] = Field(default_factory=list)
    registered_at: datetime
    updated_at: datetime
    version: int = 0
    last_reason: str = ""
    change: ChangeAssessment | None = Field(
        default=None,
        description="In production: how the declared manifest differs from the approved one.",
    )
    change_rejected: str = Field(
        default="", description="Why the declared scope's last revalidation did not pass."
    )
    recertification: RecertificationStatus | None = Field(
        default=None, description="In production: the current recertification cycle."
    )
    exceptions: list[GapException] = Field(
        default_factory=list, description="Time-boxed waivers of gaps, newest last."
    )
    lapsed_gaps: list[str] = Field(
        default_factory=list,
        description="Gaps whose waiver expired while still present: production is held.",
    )
    contained_from: LifecycleState | None = Field(
        default=None, description="While contained: the state a release returns to."
    )
    incident: str | None = Field(default=None, description="The containment's incident ticket.")
    revocations: dict[str, str] = Field(
        default_factory=dict,
        description="Credential id → requested, confirmed or failed (containment, retirement).",
    )
    retiring: str = Field(
        default="", description="Retirement reason while credentials are being revoked."
    )
    action_approvals: list[ActionApproval] = Field(
        default_factory=list,
        description="Just-in-time action approvals: the open ones and the last closed ones.",
    )
    dormancy: dict[str, DormancyEpisode] = Field(
        default_factory=dict,
        description="Open dormancy episodes (OWASP NHI1), by credential id ('' for the system).",
    )

    @property
    def in_force(self) -> AISystemManifest:
        """The manifest in force: the approved one once approved, else the declared one."""
        return self.approved_manifest or self.manifest

    def facts(self) -> Facts:
        """What the transition table needs to resolve a fact-dependent target."""
        recert = self.recertification
        pending = self.pending_request
        return Facts(
            overdue=recert is not None and recert.overdue,
            revalidating=pending is not None and pending.kind.value == "revalidation",
            recertification_due=recert is not None and recert.due,
            contained_from=self.contained_from,
        )


class CommandResult(Model):
    """What a command did, returned to the caller."""

    command_id: str
    system: SystemView
    message: str
    duplicate: bool = Field(default=False, description="Already applied; nothing was done again.")
    assessment: ChangeAssessment | None = None
    policy_digest: str = Field(default="", description="The policy the system now decides with.")


class DecideResult(Model):
    """The request after a decision (and, when it closed the request, the system after it)."""

    command_id: str
    request: ApprovalRequest
    message: str
    system: SystemView | None = None
    duplicate: bool = Field(default=False, description="Already decided; nothing was done again.")


class RecordBatch(Model):
    """Ledger and projection writes produced by one workflow, applied in one transaction."""

    events: list[AuditEvent] = Field(default_factory=list)
    system: SystemView | None = None
    request: ApprovalRequest | None = None
    request_version: int = 0


class PeopleNotice(Model):
    """A direct message to some people, sent at most once per `key` and person."""

    key: str
    system_id: str
    people: list[str]
    text: str


def ticket_people(manifest: AISystemManifest) -> tuple[str | None, list[str]]:
    """A governance ticket's people: the technical owner assigned, the business owner watching."""
    tech, business = manifest.technical_owner, manifest.business_owner
    return (str(tech).lower() if tech else None), ([str(business).lower()] if business else [])


class GovernanceTicketInput(Model):
    """A ticket about a system that is not an approval request (overdue, waiver expired)."""

    ticket_id: str = Field(description="Threshold's id for it; the deterministic label's base.")
    system_id: str
    kind: str
    summary: str
    description: str
    assignee: str | None = None
    watchers: list[str] = Field(default_factory=list)
    due: str | None = Field(default=None, description="YYYY-MM-DD")
    notes: list[tuple[str, str]] = Field(
        default_factory=list, description="(event, comment) pairs the ticket should carry."
    )
    close: bool = False


class SystemWorkflowInput(Model):
    """Start or continue a system's lifecycle workflow."""

    system_id: str
    carried: SystemCarried | None = None
    max_history_events: int = 10_000
    registration: RegisterCommand | None = Field(
        default=None, description="Register on start (the fast path: one start, no update)."
    )


class SystemCarried(Model):
    """State carried across continue-as-new."""

    view: SystemView
    event_seq: int
    policy: Policy
    processed: dict[str, str] = Field(default_factory=dict, description="command id → message")
    open_request_id: str | None = None
    outbox: list[AuditEvent] = Field(
        default_factory=list, description="Audit events not yet written when the run ended."
    )
    projection_pending: bool = False
    revoke_queue: list[RevokeInput] = Field(
        default_factory=list, description="Credentials still to hand to the revoker."
    )
    incident_queue: list[GovernanceTicketInput] = Field(
        default_factory=list, description="Incident tickets still to open."
    )
    notice_queue: list[PeopleNotice] = Field(
        default_factory=list, description="Owner notices still to send."
    )


class ApprovalWorkflowInput(Model):
    """Start an approval request's workflow."""

    request: ApprovalRequest
    parent_workflow_id: str


class WithdrawSignal(Model):
    """A system withdraws one of its open requests, saying why."""

    reason: str


class RequestClosed(Model):
    """Signal from an approval workflow to its system: the request is settled."""

    request: ApprovalRequest


SystemWorkflowInput.model_rebuild()


class SlackSyncInput(Model):
    """Make Slack show this version of a request (post where missing, update in place)."""

    request: ApprovalRequest
    version: int


class SlackSyncResult(Model):
    """What Slack delivery did; `problems` are new permanent failures, reported once."""

    enabled: bool
    posted: int = 0
    updated: int = 0
    problems: list[str] = Field(default_factory=list)


class TicketSyncInput(Model):
    """Make the request's change ticket show this state (open it, comment, transition)."""

    request: ApprovalRequest


class TicketSyncResult(Model):
    """The ticket's key and where it lives; counts of what this sync delivered."""

    key: str
    tracker: str = Field(description="jira or local")
    url: str | None = None
    comments: int = 0
    transitioned: bool = False
