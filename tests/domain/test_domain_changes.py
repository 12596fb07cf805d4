"""`assess_change`: which changes to an approved system are material, why, and who revalidates."""

from __future__ import annotations

from typing import Any

import pytest

from domain.changes import assess_change, scope_diff
from domain.errors import InvalidInput
from domain.manifest import AISystemManifest, parse_manifest
from domain.policy import Policy, Role, parse_policy
from tests.domain.conftest import load_yaml

TECH_SEC = [Role.technical_owner, Role.security]
BIZ_SEC = [Role.business_owner, Role.security]


def changed(data: dict[str, Any], **fields: Any) -> AISystemManifest:
    """The manifest with top-level fields replaced."""
    return parse_manifest({**data, **fields})


def with_capabilities(data: dict[str, Any], **capabilities: list[str]) -> AISystemManifest:
    """The manifest with some capabilities replaced."""
    return changed(data, capabilities={**data["capabilities"], **capabilities})


@pytest.fixture
def approved(support_data: dict[str, Any]) -> AISystemManifest:
    """The approved support assistant."""
    return parse_manifest(support_data)


def test_no_difference_is_no_change(approved: AISystemManifest, policy: Policy) -> None:
    """Comparing a manifest with itself finds nothing to record or revalidate."""
    assessment = assess_change(approved, approved, policy)
    assert assessment.material is False
    assert assessment.action == "none"
    assert assessment.reasons == assessment.recorded_only == []
    assert assessment.summary == "no change to the declared scope"


def test_new_write_access_needs_technical_owner_and_security(
    approved: AISystemManifest, support_data: dict[str, Any], policy: Policy
) -> None:
    """A new write target is material and names the field, the target and the two roles."""
    proposed = with_capabilities(support_data, write_targets=["crm.accounts"])
    assessment = assess_change(approved, proposed, policy)
    assert assessment.material is True
    assert assessment.action == "revalidate"
    [reason] = assessment.reasons
    assert reason.code == "new_write_access"
    assert reason.field == "capabilities.write_targets"
    assert reason.message == "new write access: crm.accounts"
    assert reason.roles == TECH_SEC
    assert assessment.revalidate_roles == TECH_SEC
    assert "revalidation by technical_owner, security" in assessment.summary


def test_new_tool_needs_technical_owner_and_security(
    approved: AISystemManifest, support_data: dict[str, Any], policy: Policy
) -> None:
    """A new tool is material for the technical owner and security; existing tools are not news."""
    proposed = with_capabilities(support_data, tools=["search_kb", "send_email"])
    assessment = assess_change(approved, proposed, policy)
    assert [r.message for r in assessment.reasons] == ["new tool: send_email"]
    assert assessment.revalidate_roles == TECH_SEC


@pytest.mark.parametrize(
    ("capabilities", "message"),
    [
        ({"tools": []}, "tool removed: search_kb"),
        ({"read_targets": ["crm.tickets"]}, "read target removed: kb.articles"),
    ],
)
def test_removals_are_recorded_without_approval(
    approved: AISystemManifest,
    support_data: dict[str, Any],
    policy: Policy,
    capabilities: dict[str, list[str]],
    message: str,
) -> None:
    """Taking capabilities away narrows the scope: recorded, never sent for approval."""
    proposed = with_capabilities(support_data, **capabilities)
    assessment = assess_change(approved, proposed, policy)
    assert assessment.material is False
    assert assessment.action == "record"
    assert assessment.revalidate_roles == []
    assert [r.message for r in assessment.recorded_only] == [message]
    assert assessment.summary == f"no material change; recorded: {message}"


def test_regulated_data_needs_privacy(
    approved: AISystemManifest, support_data: dict[str, Any], policy: Policy
) -> None:
    """Raising data to regulated brings in privacy (and security)."""
    assessment = assess_change(
        approved, changed(support_data, data_classification="regulated"), policy
    )
    [reason] = assessment.reasons
    assert reason.code == "regulated_data"
    assert reason.message == "now regulated: confidential → regulated"
    assert assessment.revalidate_roles == [Role.security, Role.privacy]


def test_raised_below_regulated_and_lowered_classification(
    support_data: dict[str, Any], policy: Policy
) -> None:
    """Internal → confidential is material for business owner and security; back down is recorded."""
    internal = changed(support_data, data_classification="internal")
    confidential = changed(support_data, data_classification="confidential")
    raised = assess_change(internal, confidential, policy)
    assert [r.code for r in raised.reasons] == ["data_classification_raised"]
    assert raised.revalidate_roles == BIZ_SEC
    lowered = assess_change(confidential, internal, policy)
    assert lowered.material is False
    assert [r.code for r in lowered.recorded_only] == ["data_classification_lowered"]


def test_more_autonomy_and_automated_decisions_need_business_owner_and_security(
    approved: AISystemManifest, support_data: dict[str, Any], policy: Policy
) -> None:
    """Acting alone or deciding automatically is for the business owner and security."""
    proposed = parse_manifest(
        {
            **support_data,
            "autonomy": "autonomous",
            "capabilities": {**support_data["capabilities"], "automated_decisions": ["refund"]},
        }
    )
    assessment = assess_change(approved, proposed, policy)
    assert {r.code: r.roles for r in assessment.reasons} == {
        "new_automated_decisions": BIZ_SEC,
        "more_autonomy": BIZ_SEC,
    }
    assert "autonomy human_in_the_loop → autonomous" in [r.message for r in assessment.reasons]
    assert assessment.revalidate_roles == BIZ_SEC


def test_less_autonomy_is_recorded(support_data: dict[str, Any], policy: Policy) -> None:
    """Handing decisions back to people narrows the scope."""
    approved = changed(support_data, autonomy="autonomous")
    assessment = assess_change(approved, changed(support_data), policy)
    assert assessment.material is False
    assert [r.code for r in assessment.recorded_only] == ["less_autonomy"]


def test_model_swap_needs_technical_owner_and_version_bump_is_recorded(
    approved: AISystemManifest, support_data: dict[str, Any], policy: Policy
) -> None:
    """Another model is for the technical owner; a new version of the same one is recorded."""
    model = support_data["model"]
    swapped = changed(support_data, model={**model, "provider": "openai", "name": "gpt"})
    swap = assess_change(approved, swapped, policy)
    assert [r.code for r in swap.reasons] == ["model_swap"]
    assert swap.revalidate_roles == [Role.technical_owner]
    assert "anthropic/claude-sonnet 2026-09 → openai/gpt 2026-09" in swap.reasons[0].message
    bumped = changed(support_data, model={**model, "version": "2026-11"})
    bump = assess_change(approved, bumped, policy)
    assert bump.material is False
    assert bump.recorded_only[0].message == "model version: claude-sonnet 2026-09 → 2026-11"


def test_several_changes_collect_every_role_once_in_a_fixed_order(
    approved: AISystemManifest, support_data: dict[str, Any], policy: Policy
) -> None:
    """Roles from all material changes are merged, each once, in role order."""
    proposed = parse_manifest(
        {
            **support_data,
            "data_classification": "regulated",
            "autonomy": "autonomous",
            "capabilities": {**support_data["capabilities"], "write_targets": ["crm.accounts"]},
        }
    )
    assessment = assess_change(approved, proposed, policy)
    assert assessment.revalidate_roles == [
        Role.business_owner,
        Role.technical_owner,
        Role.security,
        Role.privacy,
    ]


def test_credentials(
    approved: AISystemManifest, support_data: dict[str, Any], policy: Policy
) -> None:
    """New or widened credentials are material; rotation is recorded (policy), removal recorded."""
    [credential] = support_data["credentials"]
    widened = {**credential, "scopes": [*credential["scopes"], "crm.accounts:write"]}
    rotated = {**credential, "vault_ref": "vault://kv/prod/support-assistant/crm-reader-v2"}
    extra = {**credential, "id": "support-assistant-mailer", "vault_ref": "vault://kv/prod/m"}
    cases = {
        "credential_widened": [widened],
        "new_credential": [credential, extra],
    }
    for code, credentials in cases.items():
        assessment = assess_change(approved, changed(support_data, credentials=credentials), policy)
        assert [r.code for r in assessment.reasons] == [code]
        assert assessment.revalidate_roles == TECH_SEC
    rotation = assess_change(approved, changed(support_data, credentials=[rotated]), policy)
    assert rotation.material is False
    assert rotation.recorded_only[0].message == (
        "credential support-assistant-crm-reader rotated (vault_ref)"
    )
    removal = assess_change(approved, changed(support_data, credentials=[]), policy)
    assert [r.code for r in removal.recorded_only] == ["credential_removed"]


def test_owner_use_case_and_logging_changes(
    approved: AISystemManifest, support_data: dict[str, Any], policy: Policy
) -> None:
    """A new owner is for the business owner, a dropped human approval too; less logging is
    for security; more logging is recorded."""
    owner = assess_change(
        approved, changed(support_data, business_owner="bob.new@example.com"), policy
    )
    assert [(r.code, r.roles) for r in owner.reasons] == [("owner_changed", [Role.business_owner])]
    cases = [dict(case) for case in support_data["use_cases"]]
    cases[0]["human_approval"] = []
    use = assess_change(approved, changed(support_data, use_cases=cases), policy)
    assert [r.code for r in use.reasons] == ["use_case_changed"]
    assert "human approval dropped: send reply to customer" in use.reasons[0].message
    less = {**support_data["logging"], "tool_calls": False}
    reduced = assess_change(approved, changed(support_data, logging=less), policy)
    assert [(r.code, r.roles) for r in reduced.reasons] == [("logging_reduced", [Role.security])]
    more = {**support_data["logging"], "retention_days": 730}
    assert assess_change(approved, changed(support_data, logging=more), policy).material is False


def test_suspend_policy_turns_the_action_to_suspend(
    approved: AISystemManifest, support_data: dict[str, Any]
) -> None:
    """With on_material_change: suspend a material change says production is suspended."""
    policy = parse_policy({"changes": {"on_material_change": "suspend"}})
    proposed = with_capabilities(support_data, write_targets=["crm.accounts"])
    assessment = assess_change(approved, proposed, policy)
    assert assessment.action == "suspend"
    assert "suspended until revalidated by technical_owner, security" in assessment.summary
    removal = assess_change(approved, with_capabilities(support_data, tools=[]), policy)
    assert removal.action == "record"


def test_rules_come_from_the_policy(
    approved: AISystemManifest, support_data: dict[str, Any]
) -> None:
    """The policy decides which codes are immaterial and which roles revalidate the rest."""
    policy = parse_policy(
        {
            "changes": {
                "immaterial": ["new_tool"],
                "revalidate": {"new_write_access": ["security"]},
            }
        }
    )
    proposed = with_capabilities(
        support_data, tools=["search_kb", "send_email"], write_targets=["crm.accounts"]
    )
    assessment = assess_change(approved, proposed, policy)
    assert [(r.code, r.roles) for r in assessment.reasons] == [
        ("new_write_access", [Role.security])
    ]
    assert [r.code for r in assessment.recorded_only] == ["new_tool"]


def test_the_repository_policy_file_parses_its_change_rules() -> None:
    """policy.yaml's changes section is valid and keeps model versions immaterial."""
    policy = parse_policy(load_yaml("policy.yaml"))
    assert policy.changes.on_material_change == "revalidate"
    assert policy.changes.roles_for("model_version") is None
    assert policy.changes.roles_for("new_write_access") == TECH_SEC


def test_misspelt_immaterial_code_is_refused() -> None:
    """A typo in changes.immaterial would keep a change material silently, so it is refused."""
    with pytest.raises(InvalidInput) as caught:
        parse_policy({"changes": {"immaterial": ["model_versoin"]}})
    assert caught.value.problems[0].field == "changes.immaterial"


def test_comparing_two_systems_is_refused(
    approved: AISystemManifest, support_data: dict[str, Any], policy: Policy
) -> None:
    """Assessment compares one system's manifests; another id is an input error naming `id`."""
    with pytest.raises(InvalidInput) as caught:
        assess_change(approved, changed(support_data, id="other-system"), policy)
    assert caught.value.problems[0].field == "id"


def test_scope_diff_lists_material_and_recorded_changes(
    approved: AISystemManifest, support_data: dict[str, Any]
) -> None:
    """scope_diff words every difference, whatever its weight."""
    proposed = with_capabilities(support_data, write_targets=["crm.accounts"], tools=[])
    assert scope_diff(approved, proposed) == [
        "new write access: crm.accounts",
        "tool removed: search_kb",
    ]


def test_a_production_system_declaring_pilot_records_no_environment_change(
    approved: AISystemManifest, support_data: dict[str, Any], policy: Policy
) -> None:
    """A scope change on a production system whose manifest says `environment: pilot` (the
    lifecycle, not the manifest, says where it runs) records no "environment production → pilot"."""
    from datetime import UTC, datetime

    from domain.classification import classify
    from domain.contracts import SystemView
    from domain.lifecycle import LifecycleState
    from domain.scope import assess_declared

    now = datetime(2026, 12, 1, tzinfo=UTC)
    requirements = classify(approved, policy, now=now)
    view = SystemView(
        system_id=approved.id,
        state=LifecycleState.production,
        manifest=approved,
        approved_manifest=approved,
        requirements=requirements,
        production_requirements=requirements,
        registered_at=now,
        updated_at=now,
        version=1,
    )
    proposed = changed(support_data, description="Answers customer questions, politely.")
    assessment = assess_declared(view, proposed, policy)
    messages = [r.message for r in assessment.reasons + assessment.recorded_only]
    assert messages == ["description changed"]
