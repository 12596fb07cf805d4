"""`classify`: which triggers apply, the pilot exemption, tiers, approvers and cadence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.classification import classify, classify_for_production
from domain.manifest import parse_manifest
from domain.policy import TRIGGER_CODES, Policy, RiskTier, Role, parse_policy
from domain.requirements import GovernanceRequirements

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def credential(expires_at: datetime | None, environment: str = "pilot") -> dict[str, Any]:
    """A credential entry expiring at the given time."""
    return {
        "id": "quiet-key",
        "kind": "api_key",
        "environment": environment,
        "owner": "ted.tech@example.com",
        "expires_at": expires_at,
        "vault_ref": "vault://kv/quiet/key",
    }


def classified(data: dict[str, Any], policy: Policy | None = None) -> GovernanceRequirements:
    """Classify raw manifest data at NOW under the given (default: built-in) policy."""
    return classify(parse_manifest(data), policy or Policy(), now=NOW)


def codes(requirements: GovernanceRequirements) -> set[str]:
    """Trigger codes of a classification."""
    return {t.code for t in requirements.triggers}


TRIGGER_CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    (
        "real_decisions",
        {
            "use_cases": [
                {"name": "score", "purpose": "Rank loan files.", "affects_real_decisions": True}
            ]
        },
        {"real_decisions"},
    ),
    (
        "automated_decisions",
        {"capabilities": {"automated_decisions": ["refund approval"]}},
        {"real_decisions", "automated_decisions"},
    ),
    ("customer_facing", {"customer_facing": True}, {"customer_facing"}),
    ("confidential_data", {"data_classification": "confidential"}, {"confidential_data"}),
    ("regulated_data", {"data_classification": "regulated"}, {"regulated_data"}),
    ("acts_without_human_review", {"autonomy": "autonomous"}, {"acts_without_human_review"}),
    ("write_access", {"capabilities": {"write_targets": ["crm.notes"]}}, {"write_access"}),
    ("tool_invocation", {"capabilities": {"tools": ["search_kb"]}}, {"tool_invocation"}),
    (
        "downstream_automation",
        {"capabilities": {"downstream_automation": ["billing.refund_run"]}},
        {"downstream_automation"},
    ),
    ("persistent_credentials", {"credentials": [credential(None)]}, {"persistent_credentials"}),
]


def test_quiet_system_raises_no_trigger(quiet_data: dict[str, Any]) -> None:
    """An internal, suggest-only, tool-less system needs no production governance and is low."""
    requirements = classified(quiet_data)
    assert requirements.triggers == []
    assert requirements.applies is False
    assert requirements.exemption is None
    assert requirements.risk_tier is RiskTier.low


@pytest.mark.parametrize(
    ("name", "change", "expected"), TRIGGER_CASES, ids=[c[0] for c in TRIGGER_CASES]
)
def test_each_trigger_is_named(
    quiet_data: dict[str, Any], name: str, change: dict[str, Any], expected: set[str]
) -> None:
    """Each property alone makes production governance apply and is named as the reason."""
    requirements = classified(quiet_data | change)
    assert codes(requirements) == expected
    assert requirements.applies is True
    assert all(t.reason for t in requirements.triggers)


def test_trigger_codes_are_all_known_to_the_policy(quiet_data: dict[str, Any]) -> None:
    """Every code classify can raise is one the policy's risk rules accept."""
    raised: set[str] = set()
    for _, change, _ in TRIGGER_CASES:
        raised |= codes(classified(quiet_data | change))
    assert raised == TRIGGER_CODES


def test_trigger_reason_names_what_was_declared(quiet_data: dict[str, Any]) -> None:
    """A trigger's reason lists the declared targets so a reviewer sees what caused it."""
    quiet_data["capabilities"] = {"write_targets": ["crm.notes", "erp.orders"]}
    (trigger,) = classified(quiet_data).triggers
    assert trigger.reason == "writes to crm.notes, erp.orders"


@pytest.mark.parametrize(("days", "persistent"), [(29, False), (30, False), (31, True)])
def test_persistence_follows_policy_threshold(
    quiet_data: dict[str, Any], days: int, persistent: bool
) -> None:
    """A credential counts as persistent only when it outlives persistent_after_days (30)."""
    quiet_data["credentials"] = [credential(NOW + timedelta(days=days))]
    assert ("persistent_credentials" in codes(classified(quiet_data))) is persistent


def test_synthetic_limited_pilot_is_exempt(quiet_data: dict[str, Any]) -> None:
    """A pilot on synthetic data only is exempt even when it invokes tools."""
    quiet_data |= {"synthetic_data_only": True, "capabilities": {"tools": ["search_kb"]}}
    requirements = classified(quiet_data)
    assert codes(requirements) == {"tool_invocation"}
    assert requirements.applies is False
    assert requirements.exemption == "limited pilot on synthetic data only"
    assert requirements.blocking_gaps == []


def test_exemption_disappears_for_production(quiet_data: dict[str, Any]) -> None:
    """classify_for_production drops the pilot exemption, so governance applies on promotion."""
    quiet_data |= {"synthetic_data_only": True, "capabilities": {"tools": ["search_kb"]}}
    requirements = classify_for_production(parse_manifest(quiet_data), Policy(), now=NOW)
    assert requirements.exemption is None
    assert requirements.applies is True
    assert requirements.risk_tier is RiskTier.medium


@pytest.mark.parametrize(
    "change",
    [
        {"customer_facing": True},
        {"credentials": [credential(NOW + timedelta(days=7), environment="production")]},
        {"environment": "production"},
        {"synthetic_data_only": False},
    ],
    ids=["customer_facing", "production_credential", "production_environment", "real_data"],
)
def test_exemption_needs_every_pilot_condition(
    quiet_data: dict[str, Any], change: dict[str, Any]
) -> None:
    """Customers, a production credential, production or real data each void the exemption."""
    quiet_data |= {"synthetic_data_only": True, "capabilities": {"tools": ["search_kb"]}}
    requirements = classified(quiet_data | change)
    assert requirements.exemption is None
    assert requirements.applies is True


@pytest.mark.parametrize(
    ("change", "tier", "cadence"),
    [
        ({}, RiskTier.low, 365),
        ({"customer_facing": True}, RiskTier.medium, 180),
        ({"customer_facing": True, "autonomy": "autonomous"}, RiskTier.high, 90),
    ],
)
def test_highest_trigger_sets_tier_and_cadence(
    quiet_data: dict[str, Any], change: dict[str, Any], tier: RiskTier, cadence: int
) -> None:
    """The highest tier any trigger reaches wins and sets the recertification cadence."""
    requirements = classified(quiet_data | change)
    assert requirements.risk_tier is tier
    assert requirements.recertification_days == cadence


@pytest.mark.parametrize(
    ("change", "roles"),
    [
        ({}, [Role.technical_owner]),
        ({"customer_facing": True}, [Role.business_owner, Role.technical_owner, Role.security]),
        (
            {"data_classification": "regulated"},
            [Role.business_owner, Role.technical_owner, Role.security, Role.privacy],
        ),
    ],
)
def test_required_roles_follow_tier_and_regulated_data(
    quiet_data: dict[str, Any], change: dict[str, Any], roles: list[Role]
) -> None:
    """Approver roles come from the tier, and regulated data adds privacy."""
    assert classified(quiet_data | change).required_roles == roles


def test_confidential_data_does_not_add_privacy(quiet_data: dict[str, Any]) -> None:
    """Only regulated data brings in the privacy approver, not confidential data."""
    quiet_data["data_classification"] = "confidential"
    assert Role.privacy not in classified(quiet_data).required_roles


def test_policy_moves_a_trigger_between_tiers(support_data: dict[str, Any]) -> None:
    """Listing tool_invocation as high in the policy makes a tool-using system high risk."""
    policy = parse_policy(
        {
            "risk": {
                "high": ["tool_invocation"],
                "medium": ["customer_facing", "confidential_data"],
            }
        }
    )
    assert classified(support_data).risk_tier is RiskTier.medium
    assert classified(support_data, policy).risk_tier is RiskTier.high


def test_policy_sets_roles_and_cadence(support_data: dict[str, Any]) -> None:
    """Approver roles and recertification days come from the policy, not from code."""
    policy = parse_policy(
        {
            "approvers": {"medium": ["technical_owner", "privacy"]},
            "recertification_days": {"medium": 30},
        }
    )
    requirements = classified(support_data, policy)
    assert requirements.required_roles == [Role.technical_owner, Role.privacy]
    assert requirements.recertification_days == 30


def test_policy_sets_persistence_threshold(quiet_data: dict[str, Any]) -> None:
    """A stricter persistent_after_days makes a week-long credential persistent."""
    quiet_data["credentials"] = [credential(NOW + timedelta(days=8))]
    policy = parse_policy({"credentials": {"persistent_after_days": 7}})
    assert "persistent_credentials" not in codes(classified(quiet_data))
    assert "persistent_credentials" in codes(classified(quiet_data, policy))


READ_ONLY = {"readOnlyHint": True, "destructiveHint": False}


def mcp(**tools: dict[str, bool]) -> dict[str, Any]:
    """A manifest fragment with one MCP server `crm` offering the given tools and hints."""
    listed = [{"name": name, "annotations": hints} for name, hints in tools.items()]
    return {"mcp_servers": [{"name": "crm", "tools": listed}]}


@pytest.mark.parametrize(
    ("hints", "expected"),
    [
        (READ_ONLY, {"tool_invocation"}),
        ({"readOnlyHint": False, "destructiveHint": True}, {"tool_invocation", "write_access"}),
        ({}, {"tool_invocation", "write_access"}),
        ({"readOnlyHint": True}, {"tool_invocation"}),
        ({"destructiveHint": False}, {"tool_invocation"}),
    ],
    ids=["read-only", "destructive", "defaults", "read-only-only", "non-destructive"],
)
def test_mcp_tools_count_as_tools_and_destructive_ones_as_writes(
    quiet_data: dict[str, Any], hints: dict[str, bool], expected: set[str]
) -> None:
    """An MCP tool is tool invocation; one destructive by its hints (or MCP's defaults) writes."""
    assert codes(classified(quiet_data | mcp(export=hints))) == expected


def test_mcp_only_manifest_classifies_like_its_capability_twin(quiet_data: dict[str, Any]) -> None:
    """Only MCP tools give the tier, approvers and triggers of the equivalent tools and writes."""
    via_mcp = classified(quiet_data | mcp(search=READ_ONLY, export={}))
    twin = classified(
        quiet_data | {"capabilities": {"tools": ["search", "export"], "write_targets": ["crm"]}}
    )
    assert codes(via_mcp) == codes(twin)
    assert (via_mcp.risk_tier, via_mcp.required_roles) == (twin.risk_tier, twin.required_roles)
    reasons = {t.code: t.reason for t in via_mcp.triggers}
    assert reasons == {
        "tool_invocation": "invokes tools: crm/search, crm/export",
        "write_access": "writes to crm/export",
    }
