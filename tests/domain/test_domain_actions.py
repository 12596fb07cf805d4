"""`check_action` and what the action ledger keeps of content."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain.actions import (
    ActionRecord,
    ActionScope,
    action_scope,
    check_action,
    first_of_kind,
    kept_content,
    mask_secret_credential,
    redact,
)
from domain.manifest import ContentLogging, parse_manifest


@pytest.fixture
def scope(support_data: dict[str, Any]) -> ActionScope:
    """The support assistant's approved scope in production."""
    manifest = parse_manifest(support_data)
    return action_scope(
        "support-assistant", 3, "production", manifest, production=True, closed=False
    )


def record(**fields: Any) -> ActionRecord:
    """A tool call within the support assistant's scope, with fields overridden."""
    data = {
        "system": "support-assistant",
        "environment": "production",
        "time": datetime(2026, 11, 26, tzinfo=UTC),
        "kind": "tool_call",
        "tool": "search_kb",
        "target": "kb.articles",
        "credential_id": "support-assistant-crm-reader",
        "trace_id": "t-1",
    }
    return ActionRecord.model_validate(data | fields)


def codes(scope: ActionScope, **fields: Any) -> list[str]:
    """The finding codes of one record."""
    return [f.code for f in check_action(scope, record(**fields))]


def test_an_action_within_scope_has_no_finding(scope: ActionScope) -> None:
    """An approved tool on an approved target with a bound production credential passes."""
    assert codes(scope) == []


def test_tools_and_write_targets_outside_the_approved_scope_are_findings(
    scope: ActionScope,
) -> None:
    """A new tool, and a write to a target it may only read, are each found."""
    assert codes(scope, tool="send_email") == ["tool_out_of_scope"]
    assert codes(scope, target="crm.tickets", access="write") == ["target_out_of_scope"]
    assert codes(scope, tool=None, target="crm.tickets", access="read") == []


def test_credentials_not_bound_or_from_the_wrong_environment_are_findings(
    scope: ActionScope,
) -> None:
    """Another system's credential (NHI9) and a production credential in pilot (NHI8)."""
    found = check_action(scope, record(credential_id="someone-elses"))
    assert [(f.code, f.nhi) for f in found] == [("credential_not_bound", "NHI9")]
    assert codes(scope, environment="pilot") == ["credential_wrong_environment"]


def test_a_privileged_action_needs_the_approval_its_use_case_requires(scope: ActionScope) -> None:
    """`send reply to customer` is a human-approval point: without approved_by it is a finding."""
    fields = {"kind": "privileged_action", "tool": None, "target": None}
    assert codes(scope, action="Send reply to customer", **fields) == ["missing_human_approval"]
    assert (
        codes(scope, action="send reply to customer", approved_by="ann@example.com", **fields) == []
    )


def test_content_is_kept_as_the_logging_policy_says() -> None:
    """digest keeps hash and length; redacted masks e-mails and tokens; full masks secrets only."""
    text = "mail ann@example.com the key sk-ant-api03-QQQQQQQQQQQQQQQQQQQQ now"
    digest, length, stored = kept_content(text, ContentLogging.digest, True)
    assert len(digest or "") == 64 and length == len(text) and stored is None
    _, _, masked = kept_content(text, ContentLogging.redacted, True)
    assert masked == "mail [email] the key [secret] now"
    full = "mail ann@example.com the key [secret] now"
    assert kept_content(text, ContentLogging.full, True)[2] == full
    assert kept_content(text, ContentLogging.full, False) == (None, None, None)
    assert redact("token ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2") == "token [secret]"


def test_only_the_first_finding_of_each_kind_per_system_signals() -> None:
    """Known (system, code) pairs and repeats in the batch are not first."""
    pairs = [("a", "x"), ("a", "x"), ("b", "x"), ("a", "y")]
    assert first_of_kind(pairs, known={("a", "y")}) == [("a", "x"), ("b", "x")]


def test_a_secret_given_as_credential_id_is_never_kept(scope: ActionScope) -> None:
    """An unbound credential_id that looks like a secret is masked before storage and found."""
    leaked = record(credential_id="sk-ant-api03-" + "Q" * 30)
    masked = mask_secret_credential(scope, leaked)
    assert masked.credential_id is not None and "sk-ant" not in masked.credential_id
    assert [f.code for f in check_action(scope, masked)] == ["credential_not_bound"]
    assert mask_secret_credential(scope, record()) == record()


def test_secrets_in_action_record_fields_are_masked(scope: ActionScope) -> None:
    """A secret inside target, tool, action or trace_id is stored as [secret]; a secret id hashed."""
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3n4o5p6q7r8"
    leaked = record(target=f"https://kb.example.com/?token={token}", trace_id=token, id=token)
    masked = mask_secret_credential(scope, leaked)
    assert masked.target == "https://kb.example.com/?token=[secret]"
    assert masked.trace_id == "[secret]"
    assert masked.id is not None and masked.id.startswith("sha256:") and token not in masked.id
    assert mask_secret_credential(scope, leaked).id == masked.id  # a re-send is still a no-op


def test_trace_ids_and_uuid_ids_are_kept_as_given(scope: ActionScope) -> None:
    """A W3C trace id (32 hex) and a uuid4 hex id are identifiers, not secrets: kept as given."""
    given = record(
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736", id="9f1c2a7e5b6d4c3e8a1f0b2d3c4e5f6a"
    )
    assert mask_secret_credential(scope, given) == given


def test_a_system_not_approved_for_production_acting_there_is_a_finding(
    support_data: dict[str, Any],
) -> None:
    """Registered, pilot and promotion_pending systems may not act in production; a production
    system (revalidation_pending included, on its approved scope) may act in pilot."""
    manifest = parse_manifest(support_data)
    pilot_key = {"credential_id": None}
    for state in ("registered", "pilot", "promotion_pending"):
        pilot = action_scope(
            "support-assistant", 1, state, manifest, production=False, closed=False
        )
        found = check_action(pilot, record(**pilot_key))
        assert [f.code for f in found] == ["environment_not_approved"], state
        assert f"(state: {state}): promote it first" in found[0].message
        assert codes(pilot, environment="pilot", **pilot_key) == []
    revalidating = action_scope(
        "support-assistant", 4, "revalidation_pending", manifest, production=True, closed=False
    )
    assert codes(revalidating) == []
    assert codes(revalidating, environment="pilot", **pilot_key) == []
    contained = action_scope(
        "support-assistant", 5, "contained", manifest, production=False, closed=True
    )
    assert codes(contained, **pilot_key) == ["action_while_contained"]


def test_only_the_approved_model_may_act(scope: ActionScope) -> None:
    """The approved model (anthropic/claude-sonnet 2026-09) in its accepted spellings passes;
    a swapped model or another version is model_not_approved; no model reported, no check."""
    accepted = [
        "claude-sonnet",
        " CLAUDE-SONNET ",
        "claude-sonnet:2026-09",
        "claude-sonnet@2026-09",
        "claude-sonnet-2026-09",
        "anthropic/claude-sonnet",
        "Anthropic/Claude-Sonnet:2026-09",
    ]
    for model in accepted:
        assert codes(scope, model=model) == [], model
    assert codes(scope) == []
    for model in ("gpt-5", "claude-sonnet-4", "claude", "openai/claude-sonnet", "2026-09"):
        found = check_action(scope, record(model=model))
        assert [f.code for f in found] == ["model_not_approved"], model
        assert found[0].message == (
            f"model {model} is not the approved anthropic/claude-sonnet 2026-09: a model swap "
            "needs revalidation (threshold event model-change)"
        )
    (bumped,) = check_action(scope, record(model="claude-sonnet:2026-11"))
    assert bumped.message.startswith(
        "model claude-sonnet:2026-11 is not the approved version of anthropic/claude-sonnet 2026-09"
    )


def test_a_secret_given_as_the_model_is_never_kept(scope: ActionScope) -> None:
    """A secret pasted into the model field is masked before storage and still a finding."""
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3n4o5p6q7r8"
    masked = mask_secret_credential(scope, record(model=token))
    assert masked.model == "[secret]"
    assert [f.code for f in check_action(scope, masked)] == ["model_not_approved"]
