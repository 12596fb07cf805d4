"""Manifest validation: every refusal names the field, the bad value and the fix."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from domain.classification import classify
from domain.errors import InvalidInput
from domain.manifest import AISystemManifest, parse_manifest
from domain.policy import Policy

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def refusal(data: Any) -> InvalidInput:
    """Parse data that must be refused and return the error."""
    with pytest.raises(InvalidInput) as caught:
        parse_manifest(data)
    return caught.value


def fields(error: InvalidInput) -> list[str]:
    """The field paths an error names."""
    return [p.field for p in error.problems]


def test_valid_manifest_parses(support_data: dict[str, Any]) -> None:
    """A complete manifest parses into the model with its declared values."""
    manifest = parse_manifest(support_data)
    assert isinstance(manifest, AISystemManifest)
    assert manifest.id == "support-assistant"
    assert manifest.capabilities.tools == ["search_kb"]


def test_missing_required_field_is_named(support_data: dict[str, Any]) -> None:
    """A manifest without data_classification is refused naming that field as missing."""
    del support_data["data_classification"]
    error = refusal(support_data)
    assert fields(error) == ["data_classification"]
    assert error.problems[0].message.startswith("missing")
    assert "data_classification" in str(error)


def test_bad_enum_names_field_and_allowed_values(support_data: dict[str, Any]) -> None:
    """An unknown autonomy value is refused with the value given and every allowed value."""
    support_data["autonomy"] = "semi_autonomous"
    error = refusal(support_data)
    assert fields(error) == ["autonomy"]
    message = error.problems[0].message
    assert "'semi_autonomous'" in message
    for allowed in ("suggest_only", "human_in_the_loop", "autonomous"):
        assert allowed in message


def test_nested_error_path_matches_gap_paths(support_data: dict[str, Any]) -> None:
    """An error inside a list item is named like gaps name fields: credentials[0].kind."""
    support_data["credentials"][0]["kind"] = "password"
    error = refusal(support_data)
    assert fields(error) == ["credentials[0].kind"]
    assert "api_key" in error.problems[0].message


@pytest.mark.parametrize(
    ("where", "key"),
    [((), "owner"), (("capabilities",), "write_target"), (("logging",), "tool_call")],
)
def test_unknown_field_is_refused(
    support_data: dict[str, Any], where: tuple[str, ...], key: str
) -> None:
    """A misspelt or unknown field is refused (never silently dropped) and named."""
    target = support_data
    for part in where:
        target = target[part]
    target[key] = True
    error = refusal(support_data)
    assert fields(error) == [".".join((*where, key))]
    assert "unknown field" in error.problems[0].message


@pytest.mark.parametrize(
    "bad_id", ["Support-Assistant", "ab", "-support", "support-", "support_assistant", "a" * 65]
)
def test_bad_id_is_refused(support_data: dict[str, Any], bad_id: str) -> None:
    """An id that is not 3-64 lowercase letters, digits and dashes is refused with its rule."""
    support_data["id"] = bad_id
    error = refusal(support_data)
    assert fields(error) == ["id"]
    assert "lowercase letters, digits and dashes" in error.problems[0].message


@pytest.mark.parametrize("good_id", ["abc", "a1-b2", "x" * 64])
def test_good_ids_are_accepted(support_data: dict[str, Any], good_id: str) -> None:
    """Ids at the edges of the rule (3 and 64 characters, inner dashes) are accepted."""
    support_data["id"] = good_id
    assert parse_manifest(support_data).id == good_id


@pytest.mark.parametrize("field", ["business_owner", "technical_owner"])
def test_bad_owner_email_is_refused(support_data: dict[str, Any], field: str) -> None:
    """An owner that is not an email address is refused naming the owner field."""
    support_data[field] = "dana from sales"
    error = refusal(support_data)
    assert fields(error) == [field]
    assert "email" in error.problems[0].message


def test_owner_emails_are_normalized_alike_on_every_parse(support_data: dict[str, Any]) -> None:
    """An owner keeps its local part and gets a lower-case domain, parse after parse; a bad
    address is refused again on a second try (only good addresses are remembered)."""
    support_data["business_owner"] = "Dana.Reyes@Example.COM"
    for _ in range(2):
        assert parse_manifest(support_data).business_owner == "Dana.Reyes@example.com"
    support_data["technical_owner"] = "dana from sales"
    for _ in range(2):
        assert fields(refusal(support_data)) == ["technical_owner"]


def test_owner_fields_are_documented_as_emails() -> None:
    """The manifest's JSON schema (and so the API docs) still says the owners are emails."""
    owner = AISystemManifest.model_json_schema()["properties"]["business_owner"]
    assert {"type": "string", "format": "email"} in owner["anyOf"]


@pytest.mark.parametrize(
    "secret",
    [
        "sk_live_51HabcdefGHIJKLmnop",
        "hunter2",
        "not a reference",
        "postgres://app:s3cret@db.internal/prod",
    ],
)
def test_vault_ref_that_is_a_secret_value_is_refused(
    support_data: dict[str, Any], secret: str
) -> None:
    """A vault_ref that looks like the secret itself (or embeds one) is refused with the fix."""
    support_data["credentials"][0]["vault_ref"] = secret
    error = refusal(support_data)
    assert fields(error) == ["credentials[0].vault_ref"]
    assert "vault://" in error.problems[0].message
    assert not error.problems[0].message.startswith("Value error")


@pytest.mark.parametrize(
    "reference",
    ["vault://kv/prod/app", "kv/prod/app", "aws-sm://arn:aws:secretsmanager:eu-west-1:1:secret:x"],
)
def test_vault_references_are_accepted(support_data: dict[str, Any], reference: str) -> None:
    """Scheme URLs and multi-segment paths are accepted as references to a secret."""
    support_data["credentials"][0]["vault_ref"] = reference
    assert parse_manifest(support_data).credentials[0].vault_ref == reference


def test_every_problem_is_reported_at_once(support_data: dict[str, Any]) -> None:
    """Several mistakes are all reported in one refusal, not one per attempt."""
    del support_data["model"]
    support_data["customer_facing"] = "sometimes"
    support_data["id"] = "Bad Id"
    assert sorted(fields(refusal(support_data))) == ["customer_facing", "id", "model"]


@pytest.mark.parametrize("data", [None, [], "id: x"])
def test_non_mapping_is_refused(data: Any) -> None:
    """Input that is not a mapping of fields is refused with a hint instead of crashing."""
    assert fields(refusal(data)) == ["(manifest)"]


@pytest.mark.parametrize(
    "given",
    [datetime(2027, 9, 30), date(2027, 9, 30), "2027-09-30T00:00:00"],
)
def test_expiry_without_time_zone_is_read_as_utc(support_data: dict[str, Any], given: Any) -> None:
    """An expires_at without a zone is taken as UTC, so classify compares it instead of crashing."""
    support_data["credentials"][0]["expires_at"] = given
    manifest = parse_manifest(support_data)
    assert manifest.credentials[0].expires_at == datetime(2027, 9, 30, tzinfo=UTC)
    assert classify(manifest, Policy(), now=NOW).gaps == []
