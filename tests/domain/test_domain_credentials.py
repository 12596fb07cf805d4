"""Credentials as non-human identities: secrets refused, NHI-mapped gaps, the gate shows them."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.classification import classify_for_production
from domain.errors import InvalidInput
from domain.lifecycle import LifecycleState, evaluate_gate
from domain.manifest import Environment, parse_credential, parse_manifest
from domain.policy import Policy
from domain.secrets import secret_kind, secret_problems

NOW = datetime(2026, 11, 26, tzinfo=UTC)
SECRETS = [
    "sk-ant-api03-" + "Q" * 30,
    "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
    "xoxb-1234567890-abcdefghijkl",
    "AKIAIOSFODNN7EXAMPLE",
    "glpat-abcdefghijklmnopqrstu",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig",
    "-----BEGIN PRIVATE KEY-----",
    "q8Vt3ZpR7wLk2Nc9XbYf4HsJ6mDa",
]
REFERENCES = [
    "vault://kv/prod/support-assistant/crm-reader",
    "kv/pilot/agent/erp-service",
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app",
    "crm.tickets:read",
    "support-assistant-crm-reader",
]


@pytest.mark.parametrize("value", SECRETS)
def test_known_token_shapes_and_random_strings_read_as_secrets(value: str) -> None:
    """Known prefixes (sk-, ghp_, github_pat_, xoxb-, AKIA, glpat-, JWT, PEM) and high-entropy
    strings are recognised as secrets."""
    assert secret_kind(value) is not None


@pytest.mark.parametrize("value", REFERENCES)
def test_references_and_names_are_not_secrets(value: str) -> None:
    """Vault paths, ARNs, scopes and ids pass."""
    assert secret_kind(value) is None


def test_a_secret_as_vault_ref_is_refused_naming_the_field_without_echoing_it(
    support_data: dict[str, Any],
) -> None:
    """The error names credentials[0].vault_ref, asks for a reference, and never repeats the value."""
    data = copy.deepcopy(support_data)
    data["credentials"][0]["vault_ref"] = SECRETS[1]
    with pytest.raises(InvalidInput) as caught:
        parse_manifest(data)
    problem = caught.value.problems[0]
    assert problem.field == "credentials[0].vault_ref"
    assert "give a reference" in problem.message
    assert SECRETS[1] not in str(caught.value) and SECRETS[1] not in problem.message


def test_a_secret_in_a_scope_or_id_is_refused(support_data: dict[str, Any]) -> None:
    """Every credential field is checked, not only the reference."""
    credential = {**support_data["credentials"][0], "scopes": ["ok:read", SECRETS[4]]}
    with pytest.raises(InvalidInput) as caught:
        parse_credential(credential)
    assert caught.value.problems[0].field == "scopes[1]"
    assert [p.field for p in secret_problems({"id": SECRETS[0], "owner": "a@b.example"})] == ["id"]


def _gaps(data: dict[str, Any], **kwargs: Any) -> dict[str, str | None]:
    requirements = classify_for_production(parse_manifest(data), Policy(), now=NOW, **kwargs)
    return {g.code: g.nhi for g in requirements.blocking_gaps}


def test_credential_gaps_carry_their_owasp_nhi_ids(support_data: dict[str, Any]) -> None:
    """Pilot credential in production NHI8, shared NHI9, no owner NHI1, no expiry NHI7."""
    data = copy.deepcopy(support_data)
    credential = data["credentials"][0]
    credential.update(environment="pilot", owner=None, expires_at=None)
    found = _gaps(data, shared_credentials={credential["id"]: ["support-assistant", "other"]})
    assert found == {
        "pilot_credential_in_production": "NHI8",
        "credential_without_owner": "NHI1",
        "credential_without_expiry": "NHI7",
        "shared_credential": "NHI9",
    }


def test_scopes_broader_than_capabilities_are_overprivileged(support_data: dict[str, Any]) -> None:
    """Wildcards, admin rights and write rights on targets it may not write are NHI5."""
    data = copy.deepcopy(support_data)
    data["credentials"][0]["scopes"] = ["crm.tickets:read", "crm.tickets:write", "kb:*"]
    assert _gaps(data) == {"credential_overprivileged": "NHI5"}
    requirements = classify_for_production(parse_manifest(data), Policy(), now=NOW)
    assert "crm.tickets:write, kb:*" in requirements.blocking_gaps[0].message


def test_production_credentials_must_be_distinct_from_pilot_ones(
    support_data: dict[str, Any],
) -> None:
    """A production credential pointing at a pilot credential's secret is a gap (NHI8)."""
    data = copy.deepcopy(support_data)
    pilot = {**data["credentials"][0], "id": "pilot-key", "environment": "pilot"}
    data["credentials"].append(pilot)
    found = _gaps(data)
    assert found["production_credential_not_distinct"] == "NHI8"


def test_rotation_period_replaces_expiry_and_overdue_rotation_is_a_gap(
    support_data: dict[str, Any],
) -> None:
    """A rotation period satisfies the expiry rule; a rotation older than it is NHI7."""
    data = copy.deepcopy(support_data)
    data["credentials"][0].update(
        expires_at=None, rotation_days=90, last_rotated_at="2026-10-01T00:00:00Z"
    )
    assert _gaps(data) == {}
    data["credentials"][0]["last_rotated_at"] = "2026-01-01T00:00:00Z"
    assert _gaps(data) == {"credential_not_rotated": "NHI7"}


def test_the_gate_shows_blocking_gaps_with_their_nhi_ids(support_data: dict[str, Any]) -> None:
    """A pilot's production gate lists each credential gap with its NHI id as a reason."""
    data = copy.deepcopy(support_data)
    data["credentials"][0]["environment"] = "pilot"
    gaps = classify_for_production(parse_manifest(data), Policy(), now=NOW).blocking_gaps
    gate = evaluate_gate(
        system_id="support-assistant",
        state=LifecycleState.pilot,
        environment=Environment.production,
        gaps=gaps,
    )
    assert gate.allowed is False
    assert [g.nhi for g in gate.gaps] == ["NHI8"]
    assert gate.reasons[-1].startswith(
        "blocking gap [NHI8] credential support-assistant-crm-reader"
    )
