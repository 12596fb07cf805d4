"""The secret corpus: every real-format secret is refused without echo; every look-alike passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from domain.errors import InvalidInput
from domain.events import parse_cloudevent
from domain.manifest import parse_credential, parse_manifest
from domain.secret_rules import _ANY_RULE, ENTROPY_RULES, RULES, _compiled, find_secrets
from domain.secrets import fingerprint, scrub, secret_message, text_message
from tests.secret_corpus import LOOKALIKES, SECRETS, Sample, leaked

FAMILIES = {
    "aws-access-key-id",
    "aws-secret-access-key",
    "gcp-api-key",
    "gcp-service-account-json",
    "azure-storage-key",
    "azure-client-secret",
    "azure-sas",
    "github-pat",
    "github-oauth",
    "github-fine-grained",
    "gitlab-pat",
    "slack-bot-token",
    "slack-webhook",
    "stripe-secret-key",
    "sendgrid",
    "twilio-account-sid",
    "twilio-api-key",
    "databricks",
    "openai-key",
    "openai-project-key",
    "anthropic-key",
    "jwt",
    "pem-private-key",
    "basic-auth-header",
    "url-credentials",
    "password-assignment",
    "random-token-32",
    "hex-secret-64",
    "kv-path-secret",
}


def credential(**fields: Any) -> dict[str, Any]:
    """A valid pilot credential with `fields` replaced."""
    base = {"id": "crm-api", "kind": "api_key", "environment": "pilot", "vault_ref": "kv/app/crm"}
    return base | fields


def test_the_corpus_covers_every_family_the_issue_names() -> None:
    """Each family of the issue has at least one generated sample in the corpus."""
    assert {sample.family for sample in SECRETS} >= FAMILIES
    assert len(SECRETS) >= 36 and len(LOOKALIKES) >= 36


@pytest.mark.parametrize("sample", SECRETS, ids=lambda s: s.family)
def test_every_secret_is_refused_naming_its_rule_without_echo(sample: Sample) -> None:
    """A corpus secret is found, and its refusal names a rule and quotes at most 4 characters."""
    message = secret_message(sample.value)
    assert message is not None, sample.family
    rule_ids = {rule.id for rule in RULES + ENTROPY_RULES}
    assert any(f"rule {rule}," in message for rule in rule_ids)
    assert leaked(sample, message) == []
    assert leaked(sample, scrub(sample.value)) == []


@pytest.mark.parametrize("value", LOOKALIKES)
def test_every_lookalike_passes(value: str) -> None:
    """Vault paths, ARNs, UUIDs, commit SHAs, e-mails, URLs, versions, dates and scopes pass."""
    assert find_secrets(value) == [], value
    assert scrub(value) == value


@pytest.mark.parametrize("sample", SECRETS, ids=lambda s: s.family)
def test_credential_fields_refuse_each_secret(sample: Sample) -> None:
    """id, vault_ref, owner and scopes each refuse the secret, naming the field, never echoing."""
    for field, value in (
        ("id", sample.value[:128]),
        ("vault_ref", f"vault://{sample.value}"),
        ("scopes", ["crm:read", sample.value]),
    ):
        with pytest.raises(InvalidInput) as caught:
            parse_credential(credential(**{field: value}))
        fields = [problem.field for problem in caught.value.problems]
        assert fields[0].startswith(field), (sample.family, field, fields)
        text = str(caught.value) + repr(caught.value.problems)
        assert leaked(sample, text) == [], (sample.family, field)


def test_lookalikes_pass_as_credential_references_and_scopes() -> None:
    """Every look-alike is accepted as a scope and in a manifest description."""
    parse_credential(credential(scopes=LOOKALIKES))


@pytest.mark.parametrize("sample", SECRETS, ids=lambda s: s.family)
def test_free_text_refuses_each_secret(sample: Sample, support_data: dict[str, Any]) -> None:
    """A manifest description or use-case purpose holding a secret is refused without echo."""
    text = f"Drafts replies. Key: {sample.value} (temporary)"
    assert text_message(text) is not None
    for patch in (
        {"description": text},
        {"use_cases": [{"name": "reply", "purpose": text}]},
    ):
        with pytest.raises(InvalidInput) as caught:
            parse_manifest({**support_data, **patch})
        assert leaked(sample, str(caught.value) + repr(caught.value.problems)) == []


def test_lookalikes_pass_in_free_text(support_data: dict[str, Any]) -> None:
    """A description made of every look-alike is accepted."""
    parse_manifest({**support_data, "description": " ".join(LOOKALIKES)})


@pytest.mark.parametrize("sample", SECRETS, ids=lambda s: s.family)
def test_events_refuse_each_secret_without_echo(sample: Sample) -> None:
    """A credential.changed event or an event id holding a secret is refused; nothing echoed."""
    event = {
        "specversion": "1.0",
        "id": "deploy-1",
        "source": "/ci",
        "type": "dev.threshold.credential.changed",
        "subject": "support-assistant",
        "data": {"action": "added", "credential": credential(vault_ref=f"kv/{sample.value}")},
    }
    for bad in (event, {**event, "id": sample.value}, {**event, sample.value: "x"}):
        with pytest.raises(InvalidInput) as caught:
            parse_cloudevent(bad)
        assert leaked(sample, str(caught.value) + repr(caught.value.problems)) == []


def test_fingerprint_shows_four_characters_and_a_hash_prefix() -> None:
    """The fingerprint is the first 4 characters, an ellipsis and 8 hex of the SHA-256."""
    shown = fingerprint("AKIAIOSFODNN7EXAMPLE")
    assert shown.startswith("AKIA…sha256:") and len(shown.split(":")[1]) == 8


def test_every_rule_names_its_provenance() -> None:
    """Each rule of the set says which upstream rule it mirrors (or why it is ours)."""
    for rule in RULES + ENTROPY_RULES:
        assert rule.provenance.split(":")[0] in {"gitleaks", "detect-secrets", "threshold"}
    assert len({rule.id for rule in RULES + ENTROPY_RULES}) == len(RULES + ENTROPY_RULES)


def test_the_docs_list_every_rule() -> None:
    """docs/security-secrets.md has a table row for each rule id, with its provenance."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "security-secrets.md").read_text()
    for rule in RULES + ENTROPY_RULES:
        assert f"| `{rule.id}` |" in doc and rule.provenance in doc, rule.id


def test_the_combined_prefilter_finds_whatever_a_single_rule_finds() -> None:
    """The one-pattern prefilter matches exactly the corpus values some rule's pattern matches."""
    values = [s.value for s in SECRETS] + list(LOOKALIKES)
    for value in values:
        single = any(_compiled(rule.pattern).search(value) for rule in RULES)
        assert (_ANY_RULE.search(value) is not None) == single, value
