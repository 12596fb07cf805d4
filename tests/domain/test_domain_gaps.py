"""Blocking gaps: each names what is missing or unsafe and the manifest field to fix."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.classification import classify, classify_for_production
from domain.manifest import parse_manifest
from domain.policy import Policy
from domain.requirements import GovernanceRequirements

NOW = datetime(2026, 11, 26, tzinfo=UTC)
Mutation = Callable[[dict[str, Any]], None]


def production(data: dict[str, Any], **kwargs: Any) -> GovernanceRequirements:
    """Requirements for promoting raw manifest data at NOW under the default policy."""
    return classify_for_production(parse_manifest(data), Policy(), now=NOW, **kwargs)


def gaps(requirements: GovernanceRequirements) -> list[tuple[str, str]]:
    """(code, field) of every blocking gap."""
    return [(g.code, g.field) for g in requirements.blocking_gaps]


def set_field(path: str, value: Any) -> Mutation:
    """A mutation that sets a (dotted, with list indexes as digits) field."""

    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value

    return mutate


def remove(key: str) -> Mutation:
    """A mutation that deletes a top-level field."""

    def mutate(data: dict[str, Any]) -> None:
        del data[key]

    return mutate


def credential_at(when: datetime) -> Mutation:
    """A mutation that sets the first credential's expiry."""
    return set_field("credentials.0.expires_at", when)


def autonomous_without_approvals(data: dict[str, Any]) -> None:
    """Make the system autonomous and clear every human-approval point."""
    data["autonomy"] = "autonomous"
    for use_case in data["use_cases"]:
        use_case["human_approval"] = []


GAP_CASES: list[tuple[str, Mutation, str]] = [
    ("no_business_owner", remove("business_owner"), "business_owner"),
    ("no_technical_owner", remove("technical_owner"), "technical_owner"),
    (
        "owners_not_distinct",
        set_field("technical_owner", "dana.business@example.com"),
        "technical_owner",
    ),
    ("no_use_case", set_field("use_cases", []), "use_cases"),
    ("no_logging_policy", remove("logging"), "logging"),
    ("no_logging_policy", set_field("logging.tool_calls", False), "logging"),
    ("human_approval_undefined", autonomous_without_approvals, "use_cases"),
    (
        "pilot_credential_in_production",
        set_field("credentials.0.environment", "pilot"),
        "credentials[0].environment",
    ),
    ("credential_without_owner", set_field("credentials.0.owner", None), "credentials[0].owner"),
    (
        "credential_without_expiry",
        set_field("credentials.0.expires_at", None),
        "credentials[0].expires_at",
    ),
    (
        "credential_expired",
        credential_at(datetime(2026, 11, 1, tzinfo=UTC)),
        "credentials[0].expires_at",
    ),
    (
        "credential_too_long_lived",
        credential_at(datetime(2027, 12, 1, tzinfo=UTC)),
        "credentials[0].expires_at",
    ),
]


def test_support_assistant_has_no_gaps(support_data: dict[str, Any]) -> None:
    """The complete support-assistant manifest has nothing blocking its promotion."""
    assert gaps(production(support_data)) == []


@pytest.mark.parametrize(
    ("code", "mutate", "field"),
    GAP_CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(GAP_CASES)],
)
def test_each_gap_names_its_field(
    support_data: dict[str, Any], code: str, mutate: Mutation, field: str
) -> None:
    """One flaw in an otherwise complete manifest yields exactly its gap, naming the field."""
    mutate(support_data)
    assert gaps(production(support_data)) == [(code, field)]


def test_owners_differing_only_in_case_are_the_same_person(support_data: dict[str, Any]) -> None:
    """Owner emails that differ only in letter case still count as one person."""
    support_data["technical_owner"] = "Dana.Business@example.com"
    assert gaps(production(support_data)) == [("owners_not_distinct", "technical_owner")]


def test_one_owner_is_fine_when_only_one_owner_role_approves(quiet_data: dict[str, Any]) -> None:
    """A low-tier system needing only the technical owner may have one person in both seats."""
    quiet_data["business_owner"] = quiet_data["technical_owner"]
    quiet_data["capabilities"] = {"tools": ["search_kb"]}
    policy = Policy.model_validate({"risk": {"medium": [], "high": []}})
    requirements = classify_for_production(parse_manifest(quiet_data), policy, now=NOW)
    assert [g.code for g in requirements.gaps] == []


def test_logging_must_cover_privileged_actions_of_writers(support_data: dict[str, Any]) -> None:
    """A system that writes but does not log privileged actions has a logging gap."""
    support_data["capabilities"]["write_targets"] = ["crm.tickets"]
    support_data["logging"]["privileged_actions"] = False
    assert gaps(production(support_data)) == [("no_logging_policy", "logging")]


def test_human_approval_on_any_use_case_satisfies_autonomy(support_data: dict[str, Any]) -> None:
    """An autonomous system with an approval point on one use case has no approval gap."""
    support_data["autonomy"] = "autonomous"
    support_data["use_cases"][1]["human_approval"] = []
    assert "human_approval_undefined" not in {c for c, _ in gaps(production(support_data))}


def test_pilot_credential_is_fine_while_in_pilot(support_data: dict[str, Any]) -> None:
    """A pilot credential is only a gap once the system heads for production."""
    support_data["credentials"][0]["environment"] = "pilot"
    pilot = classify(parse_manifest(support_data), Policy(), now=NOW)
    assert gaps(pilot) == []


def test_max_age_comes_from_policy(support_data: dict[str, Any]) -> None:
    """A stricter max_age_days turns a ten-month credential into a too-long-lived gap."""
    policy = Policy.model_validate({"credentials": {"max_age_days": 90}})
    requirements = classify_for_production(parse_manifest(support_data), policy, now=NOW)
    assert gaps(requirements) == [("credential_too_long_lived", "credentials[0].expires_at")]


def test_shared_credential_names_the_other_systems(support_data: dict[str, Any]) -> None:
    """A credential another system also uses is a gap that names that system."""
    shared = {"support-assistant-crm-reader": ["support-assistant", "billing-bot"]}
    requirements = production(support_data, shared_credentials=shared)
    assert gaps(requirements) == [("shared_credential", "credentials[0].id")]
    assert "billing-bot" in requirements.gaps[0].message


def test_credential_used_only_by_itself_is_not_shared(support_data: dict[str, Any]) -> None:
    """A credential listed only against this system is not reported as shared."""
    shared = {"support-assistant-crm-reader": ["support-assistant"]}
    assert gaps(production(support_data, shared_credentials=shared)) == []


def test_gaps_of_an_exempt_pilot_do_not_block(quiet_data: dict[str, Any]) -> None:
    """An exempt pilot's gaps are reported but none of them blocks."""
    quiet_data |= {"synthetic_data_only": True, "capabilities": {"tools": ["search_kb"]}}
    del quiet_data["business_owner"]
    requirements = classify(parse_manifest(quiet_data), Policy(), now=NOW)
    assert [g.code for g in requirements.gaps] == ["no_business_owner"]
    assert requirements.blocking_gaps == []
