"""Governance policy: thresholds, cadences, role groups and timings, loaded from a file."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from domain.emails import Email
from domain.errors import InvalidInput, Problem


class RiskTier(StrEnum):
    """How much harm the system could do; sets approvers and cadence."""

    low = "low"
    medium = "medium"
    high = "high"


class Role(StrEnum):
    """A seat on an approval request."""

    business_owner = "business_owner"
    technical_owner = "technical_owner"
    security = "security"
    privacy = "privacy"


class PolicyModel(BaseModel):
    """Base for policy parts: unknown keys are refused so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


TRIGGER_CODES = frozenset(
    {
        "real_decisions",
        "automated_decisions",
        "customer_facing",
        "confidential_data",
        "regulated_data",
        "acts_without_human_review",
        "write_access",
        "tool_invocation",
        "downstream_automation",
        "persistent_credentials",
    }
)
"""Every trigger code `classification.governance_triggers` can raise."""


class RiskRules(PolicyModel):
    """Which triggers put a system in which tier (trigger codes from `classification`)."""

    high: list[str] = Field(
        default_factory=lambda: [
            "regulated_data",
            "acts_without_human_review",
            "automated_decisions",
            "downstream_automation",
            "write_access",
        ]
    )
    medium: list[str] = Field(
        default_factory=lambda: [
            "customer_facing",
            "confidential_data",
            "tool_invocation",
            "real_decisions",
            "persistent_credentials",
        ]
    )

    @field_validator("high", "medium")
    @classmethod
    def _known_triggers(cls, codes: list[str]) -> list[str]:
        """A misspelt trigger would silently lower every tier, so unknown codes are refused."""
        unknown = [code for code in codes if code not in TRIGGER_CODES]
        if unknown:
            allowed = ", ".join(sorted(TRIGGER_CODES))
            raise ValueError(f"unknown trigger {', '.join(unknown)}; allowed: {allowed}")
        return codes


class ApproverRules(PolicyModel):
    """Required approver roles per tier, plus roles added by data classification."""

    low: list[Role] = Field(default_factory=lambda: [Role.technical_owner])
    medium: list[Role] = Field(
        default_factory=lambda: [Role.business_owner, Role.technical_owner, Role.security]
    )
    high: list[Role] = Field(
        default_factory=lambda: [Role.business_owner, Role.technical_owner, Role.security]
    )
    regulated_data_adds: list[Role] = Field(default_factory=lambda: [Role.privacy])


class Cadence(PolicyModel):
    """Recertification cadence in days per tier."""

    low: int = Field(default=365, ge=1)
    medium: int = Field(default=180, ge=1)
    high: int = Field(default=90, ge=1)

    def for_tier(self, tier: RiskTier) -> int:
        """Days between recertifications for a tier."""
        return int(getattr(self, tier.value))


class ApprovalTimings(PolicyModel):
    """How long an approval request waits before escalating and before it expires."""

    escalate_after_hours: float = Field(default=48, gt=0)
    remind_before_escalation_hours: float = Field(
        default=24,
        ge=0,
        description="Remind pending approvers this long before escalation (0: never)",
    )
    expire_after_hours: float = Field(default=168, gt=0)
    fallback_group: str = "governance"
    action_approver_roles: list[Role] = Field(
        default_factory=lambda: [Role.business_owner],
        min_length=1,
        description="Who approves an action a use case names under human_approval (just in time).",
    )
    action_expire_minutes: float = Field(
        default=15,
        gt=0,
        le=24 * 60,
        description="A just-in-time action approval expires (deny) after this; escalates halfway.",
    )


class RecertificationRules(PolicyModel):
    """Timings around each recertification due date (the cadence is `recertification_days`)."""

    reminder_lead_days: float = Field(
        default=14, ge=0, description="Remind both owners this long before the due date (0: never)."
    )
    grace_days: float = Field(
        default=7, ge=0, description="After the due date plus this, the system is overdue."
    )
    contain_after_overdue_days: float | None = Field(
        default=None,
        ge=0,
        description="Close the gate (contain) this long after it became overdue; null: never.",
    )
    material_change_due_within_days: float | None = Field(
        default=30,
        ge=0,
        description="A material change to a production system brings the due date forward to "
        "at most this many days after the change; null: the cadence stays.",
    )


class ExceptionRules(PolicyModel):
    """Time-boxed waivers of one named gap, granted by security."""

    max_days: float = Field(default=90, gt=0, description="The longest waiver security may grant.")
    on_expiry: Literal["revalidate", "contain"] = Field(
        default="revalidate",
        description="When a waiver expires and its gap is still there, a production system is "
        "revalidated (its production gate closes until approved) or contained.",
    )
    approver_roles: list[Role] = Field(
        default_factory=lambda: [Role.security],
        min_length=1,
        description="Roles that must approve a waiver.",
    )


class CredentialRules(PolicyModel):
    """Limits on non-human identities."""

    persistent_after_days: int = Field(
        default=30, ge=1, description="A credential living longer than this is persistent."
    )
    max_age_days: int = Field(default=365, ge=1)
    dormancy_days: int = Field(
        default=30,
        ge=0,
        description="A credential or system with no recorded action for this many days is "
        "dormant (OWASP NHI1); 0: never.",
    )
    dormancy_sweep_hours: int = Field(
        default=24,
        ge=1,
        le=8760,
        description="Hours between dormancy sweeps: each newly dormant credential or system "
        "is audited, its owners told and a review ticket opened.",
    )


def _roles(*roles: Role) -> Any:
    """A default factory for a list of roles (each model gets its own list)."""
    return Field(default_factory=lambda: list(roles), min_length=1)


class RevalidationRoles(PolicyModel):
    """Per material-change code, the roles that must revalidate (never empty)."""

    new_write_access: list[Role] = _roles(Role.technical_owner, Role.security)
    new_tool: list[Role] = _roles(Role.technical_owner, Role.security)
    new_read_target: list[Role] = _roles(Role.technical_owner)
    regulated_data: list[Role] = _roles(Role.privacy, Role.security)
    data_classification_raised: list[Role] = _roles(Role.business_owner, Role.security)
    more_autonomy: list[Role] = _roles(Role.business_owner, Role.security)
    new_automated_decisions: list[Role] = _roles(Role.business_owner, Role.security)
    new_downstream_automation: list[Role] = _roles(Role.business_owner, Role.security)
    now_customer_facing: list[Role] = _roles(Role.business_owner, Role.security)
    now_production: list[Role] = _roles(Role.business_owner, Role.technical_owner, Role.security)
    synthetic_data_dropped: list[Role] = _roles(Role.business_owner, Role.privacy)
    model_swap: list[Role] = _roles(Role.technical_owner)
    model_version: list[Role] = _roles(Role.technical_owner)
    new_credential: list[Role] = _roles(Role.technical_owner, Role.security)
    credential_widened: list[Role] = _roles(Role.technical_owner, Role.security)
    credential_rotated: list[Role] = _roles(Role.technical_owner, Role.security)
    owner_changed: list[Role] = _roles(Role.business_owner)
    new_use_case: list[Role] = _roles(Role.business_owner)
    use_case_changed: list[Role] = _roles(Role.business_owner)
    logging_reduced: list[Role] = _roles(Role.security)


CHANGE_CODES = frozenset(RevalidationRoles.model_fields)
"""Every change code that can be material (`changes.assess_change` may raise each)."""


class ChangeRules(PolicyModel):
    """Which scope changes are material, who revalidates them, and what a material one does."""

    on_material_change: Literal["revalidate", "suspend"] = Field(
        default="revalidate",
        description="revalidate: keep deploying the approved scope while the declared scope "
        "is revalidated; suspend: close the production gate until revalidated.",
    )
    immaterial: list[str] = Field(
        default_factory=lambda: ["model_version", "credential_rotated"],
        description="Change codes recorded in the audit ledger without revalidation.",
    )
    revalidate: RevalidationRoles = Field(default_factory=RevalidationRoles)

    @field_validator("immaterial")
    @classmethod
    def _known_codes(cls, codes: list[str]) -> list[str]:
        """A misspelt code would silently keep a change material, so unknown codes are refused."""
        unknown = [code for code in codes if code not in CHANGE_CODES]
        if unknown:
            allowed = ", ".join(sorted(CHANGE_CODES))
            raise ValueError(f"unknown change code {', '.join(unknown)}; allowed: {allowed}")
        return codes

    def roles_for(self, code: str) -> list[Role] | None:
        """Roles that revalidate a change, or None when the change is only recorded."""
        if code not in CHANGE_CODES or code in self.immaterial:
            return None
        roles: list[Role] = getattr(self.revalidate, code)
        return roles


class ActionRules(PolicyModel):
    """What the first finding of each kind in a system's action ledger does."""

    on_finding: Literal["revalidate", "contain"] = Field(
        default="revalidate",
        description="revalidate: a production system's owners and security revalidate it "
        "(the approved scope stays in force); contain: the system is contained at once.",
    )


class Policy(PolicyModel):
    """The whole governance policy; every field has a sensible default."""

    version: str = "default"
    risk: RiskRules = Field(default_factory=RiskRules)
    approvers: ApproverRules = Field(default_factory=ApproverRules)
    recertification_days: Cadence = Field(default_factory=Cadence)
    recertification: RecertificationRules = Field(default_factory=RecertificationRules)
    exceptions: ExceptionRules = Field(default_factory=ExceptionRules)
    approvals: ApprovalTimings = Field(default_factory=ApprovalTimings)
    credentials: CredentialRules = Field(default_factory=CredentialRules)
    changes: ChangeRules = Field(default_factory=ChangeRules)
    actions: ActionRules = Field(default_factory=ActionRules)
    role_groups: dict[str, list[Email]] = Field(
        default_factory=dict,
        description="Members of group roles (security, privacy) and of the fallback group.",
    )

    def members(self, group: str) -> list[str]:
        """Emails in a named group (lower-cased)."""
        return [str(email).lower() for email in self.role_groups.get(group, [])]


def policy_digest(policy: Policy) -> str:
    """A short digest of the policy's content: equal digests, same decisions."""
    return hashlib.sha256(policy.model_dump_json().encode()).hexdigest()[:16]


def parse_policy(data: Any) -> Policy:
    """Validate raw policy data; errors name the key and the fix."""
    if data is None:
        return Policy()
    if not isinstance(data, dict):
        raise InvalidInput("the policy must be a mapping", [Problem("(policy)", "give a mapping")])
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(".".join(str(p) for p in err["loc"]), err["msg"]) for err in exc.errors()
        ]
        raise InvalidInput(
            "invalid policy: " + "; ".join(f"{p.field}: {p.message}" for p in problems), problems
        ) from None
