"""`classify`: does production governance apply, at what risk, with which approvers and gaps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from domain.gaps import find_gaps
from domain.manifest import AISystemManifest, Autonomy, DataClassification, Environment
from domain.mcp import tool_map
from domain.policy import Policy, RiskTier, Role
from domain.requirements import GovernanceRequirements, Trigger


def governance_triggers(system: AISystemManifest, policy: Policy, now: datetime) -> list[Trigger]:
    """Every named reason production governance applies; MCP tools count as tools, and the
    destructive ones (per MCP's hints and defaults) as write access."""
    caps = system.capabilities
    found: list[Trigger] = []

    def add(code: str, reason: str) -> None:
        found.append(Trigger(code=code, reason=reason))

    deciding = [u.name for u in system.use_cases if u.affects_real_decisions]
    if deciding or caps.automated_decisions:
        add(
            "real_decisions",
            "influences real decisions: " + ", ".join(deciding + caps.automated_decisions),
        )
    if caps.automated_decisions:
        add(
            "automated_decisions",
            "makes automated decisions: " + ", ".join(caps.automated_decisions),
        )
    if system.customer_facing:
        add("customer_facing", "customer-facing")
    if system.data_classification is DataClassification.confidential:
        add("confidential_data", "touches confidential data")
    if system.data_classification is DataClassification.regulated:
        add("regulated_data", "touches regulated data")
    if system.autonomy is Autonomy.autonomous:
        add("acts_without_human_review", "acts without human review (autonomous)")
    mcp_tools = tool_map(system.mcp_servers)
    writes = caps.write_targets + [n for n, tool in mcp_tools.items() if tool.annotations.writes]
    if writes:
        add("write_access", "writes to " + ", ".join(writes))
    if caps.tools or mcp_tools:
        add("tool_invocation", "invokes tools: " + ", ".join(caps.tools + list(mcp_tools)))
    if caps.downstream_automation:
        add("downstream_automation", "triggers " + ", ".join(caps.downstream_automation))
    persistent = [c.id for c in system.credentials if _is_persistent(c.expires_at, policy, now)]
    if persistent:
        add("persistent_credentials", "holds persistent credentials: " + ", ".join(persistent))
    return found


def _is_persistent(expires_at: datetime | None, policy: Policy, now: datetime) -> bool:
    limit = timedelta(days=policy.credentials.persistent_after_days)
    return expires_at is None or expires_at - now > limit


def _limited_pilot(system: AISystemManifest) -> bool:
    production_creds = any(c.environment is Environment.production for c in system.credentials)
    return (
        system.environment is Environment.pilot
        and system.synthetic_data_only
        and not system.customer_facing
        and not production_creds
    )


def risk_tier(triggers: Sequence[Trigger], policy: Policy) -> RiskTier:
    """The highest tier any trigger reaches under the policy's risk rules."""
    codes = {t.code for t in triggers}
    if codes & set(policy.risk.high):
        return RiskTier.high
    if codes & set(policy.risk.medium):
        return RiskTier.medium
    return RiskTier.low


def required_roles(system: AISystemManifest, tier: RiskTier, policy: Policy) -> list[Role]:
    """Approver roles a promotion of this system needs, in a stable order."""
    roles = list(getattr(policy.approvers, tier.value))
    if system.data_classification is DataClassification.regulated:
        roles += policy.approvers.regulated_data_adds
    return list(dict.fromkeys(roles))


def classify(
    system: AISystemManifest,
    policy: Policy,
    *,
    now: datetime,
    shared_credentials: Mapping[str, Sequence[str]] | None = None,
) -> GovernanceRequirements:
    """Decide the governance a system needs (`shared_credentials`: credential id → systems)."""
    triggers = governance_triggers(system, policy, now)
    exemption = "limited pilot on synthetic data only" if _limited_pilot(system) else None
    tier = risk_tier(triggers, policy)
    roles = required_roles(system, tier, policy)
    return GovernanceRequirements(
        applies=bool(triggers) and exemption is None,
        triggers=triggers,
        exemption=exemption,
        risk_tier=tier,
        required_roles=roles,
        recertification_days=policy.recertification_days.for_tier(tier),
        gaps=find_gaps(system, policy, roles, now=now, shared_credentials=shared_credentials or {}),
    )


def classify_for_production(
    system: AISystemManifest,
    policy: Policy,
    *,
    now: datetime,
    shared_credentials: Mapping[str, Sequence[str]] | None = None,
) -> GovernanceRequirements:
    """Requirements the system must meet to run in production (no pilot exemption)."""
    target = system.model_copy(update={"environment": Environment.production})
    return classify(target, policy, now=now, shared_credentials=shared_credentials)
