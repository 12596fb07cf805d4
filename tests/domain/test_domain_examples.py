"""The example manifests behave as the README tour says they do."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from domain.classification import classify, classify_for_production
from domain.errors import InvalidInput
from domain.manifest import AISystemManifest, parse_manifest
from domain.policy import Policy, RiskTier, Role

NOW = datetime(2026, 11, 26, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]
OWNERS_AND_SECURITY = [Role.business_owner, Role.technical_owner, Role.security]


def load_yaml(relative: str) -> Any:
    """Read a YAML file from the repository."""
    return yaml.safe_load((REPO / relative).read_text())


def example(name: str) -> AISystemManifest:
    """Parse examples/<name>.yaml."""
    return parse_manifest(load_yaml(f"examples/{name}.yaml"))


@pytest.mark.parametrize(
    ("name", "system_id"),
    [
        ("internal-summariser", "internal-summariser"),
        ("support-assistant", "support-assistant"),
        ("autonomous-agent", "procurement-agent"),
        ("missing-owner", "support-assistant-draft"),
    ],
)
def test_examples_are_valid_manifests(name: str, system_id: str) -> None:
    """Every example parses and carries the id the README uses."""
    assert example(name).id == system_id


def test_summariser_is_an_exempt_low_tier_pilot(policy: Policy) -> None:
    """The internal summariser needs no production governance: a limited synthetic pilot."""
    requirements = classify(example("internal-summariser"), policy, now=NOW)
    assert requirements.applies is False
    assert requirements.exemption == "limited pilot on synthetic data only"
    assert requirements.risk_tier is RiskTier.low
    assert requirements.blocking_gaps == []


@pytest.mark.parametrize("policy_source", ["file", "default"])
def test_support_assistant_promotes_cleanly(policy: Policy, policy_source: str) -> None:
    """The tour's support assistant is medium tier, needs owners and security, and has no gaps."""
    chosen = policy if policy_source == "file" else Policy()
    requirements = classify_for_production(example("support-assistant"), chosen, now=NOW)
    assert requirements.applies is True
    assert requirements.risk_tier is RiskTier.medium
    assert requirements.required_roles == OWNERS_AND_SECURITY
    assert requirements.recertification_days == 180
    assert requirements.gaps == []


def test_procurement_agent_is_refused_with_reasons(policy: Policy) -> None:
    """The autonomous agent is high tier, needs privacy too, and is blocked by named gaps."""
    requirements = classify_for_production(example("autonomous-agent"), policy, now=NOW)
    assert requirements.risk_tier is RiskTier.high
    assert requirements.required_roles == [*OWNERS_AND_SECURITY, Role.privacy]
    assert [(g.code, g.field) for g in requirements.blocking_gaps] == [
        ("human_approval_undefined", "use_cases"),
        ("pilot_credential_in_production", "credentials[0].environment"),
        ("credential_without_expiry", "credentials[0].expires_at"),
    ]


def test_missing_owner_is_refused_naming_business_owner(policy: Policy) -> None:
    """The draft without a business owner is blocked by exactly that field."""
    requirements = classify(example("missing-owner"), policy, now=NOW)
    assert requirements.applies is True
    assert [(g.code, g.field) for g in requirements.blocking_gaps] == [
        ("no_business_owner", "business_owner")
    ]


def test_examples_hold_no_secret_values() -> None:
    """Every example credential is a vault reference that the manifest validator accepts."""
    for name in ("internal-summariser", "support-assistant", "autonomous-agent", "missing-owner"):
        for credential in example(name).credentials:
            assert credential.vault_ref.startswith("vault://kv/")


def test_manifest_with_a_typo_is_refused() -> None:
    """An example edited with a misspelt field is refused rather than half-read."""
    data = load_yaml("examples/support-assistant.yaml")
    data["buisness_owner"] = data.pop("business_owner")
    with pytest.raises(InvalidInput, match="buisness_owner"):
        parse_manifest(data)
