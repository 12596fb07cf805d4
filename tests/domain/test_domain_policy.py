"""Policy loading: the repository's policy.yaml parses, and mistakes in it are named."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InvalidInput
from domain.policy import Policy, RiskTier, parse_policy


def test_policy_file_spells_out_the_defaults(policy: Policy) -> None:
    """policy.yaml parses and sets every threshold to the built-in default."""
    keep = {"risk", "approvers", "recertification_days", "approvals", "credentials"}
    assert policy.model_dump(include=keep) == Policy().model_dump(include=keep)


def test_policy_file_names_the_tour_reviewers(policy: Policy) -> None:
    """The security, privacy and governance groups name the reviewers the tour uses."""
    assert policy.members("security") == ["sam.security@example.com"]
    assert policy.members("privacy") == ["pat.privacy@example.com"]
    assert policy.members(policy.approvals.fallback_group) == ["gail.governance@example.com"]
    assert policy.members("legal") == []


def test_members_are_lower_cased() -> None:
    """Group members are compared in lower case, however the policy file spells them."""
    policy = parse_policy({"role_groups": {"security": ["Sam.Security@Example.com"]}})
    assert policy.members("security") == ["sam.security@example.com"]


def test_empty_policy_is_the_default() -> None:
    """An empty policy file yields the built-in defaults."""
    assert parse_policy(None) == Policy()
    assert parse_policy({}).recertification_days.for_tier(RiskTier.high) == 90


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"recertification": {"high": 30}}, "recertification.high"),
        ({"risk": {"hihg": ["write_access"]}}, "risk.hihg"),
        ({"approvals": {"escalate_after": 24}}, "approvals.escalate_after"),
    ],
)
def test_unknown_key_is_refused_by_name(data: dict[str, Any], field: str) -> None:
    """A misspelt key is refused and named instead of silently keeping the default."""
    with pytest.raises(InvalidInput) as caught:
        parse_policy(data)
    assert [p.field for p in caught.value.problems] == [field]
    assert field in str(caught.value)


def test_unknown_trigger_code_is_refused() -> None:
    """A misspelt trigger code in the risk rules is refused and the allowed codes are listed."""
    with pytest.raises(InvalidInput) as caught:
        parse_policy({"risk": {"high": ["regulated-data"]}})
    (problem,) = caught.value.problems
    assert problem.field == "risk.high"
    assert "regulated-data" in problem.message
    assert "regulated_data" in problem.message


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"approvers": {"high": ["ciso"]}}, "approvers.high.0"),
        ({"recertification_days": {"low": 0}}, "recertification_days.low"),
        ({"role_groups": {"security": ["sam"]}}, "role_groups.security.0"),
    ],
)
def test_bad_value_is_refused_by_name(data: dict[str, Any], field: str) -> None:
    """An unknown role, a zero cadence or a non-email member is refused naming its key."""
    with pytest.raises(InvalidInput) as caught:
        parse_policy(data)
    assert [p.field for p in caught.value.problems] == [field]


def test_non_mapping_policy_is_refused() -> None:
    """A policy file that is not a mapping is refused."""
    with pytest.raises(InvalidInput, match="mapping"):
        parse_policy(["risk"])
