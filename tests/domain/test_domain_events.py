"""CloudEvents parsing and applying scope changes to a manifest; every refusal names its field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.errors import InvalidInput
from domain.events import (
    CredentialChange,
    ManifestDeclared,
    ModelChange,
    ScopeChange,
    ScopeEvent,
    apply_event,
    event_key,
    parse_batch,
    parse_cloudevent,
)
from domain.manifest import AISystemManifest, Autonomy, parse_manifest

SCOPE = "dev.threshold.scope.changed"
MODEL = "dev.threshold.model.changed"
CREDENTIAL = "dev.threshold.credential.changed"
DECLARED = "dev.threshold.manifest.declared"


def event(data: Any, kind: str = SCOPE, **attrs: Any) -> dict[str, Any]:
    """A structured-mode CloudEvent about the support assistant."""
    return {
        "specversion": "1.0",
        "type": kind,
        "source": "/ci/deploy/support-assistant",
        "id": "deploy-42",
        "subject": "support-assistant",
        "data": data,
        **attrs,
    }


def refused(raw: Any) -> list[tuple[str, str]]:
    """The (field, message) problems parsing `raw` raises."""
    with pytest.raises(InvalidInput) as caught:
        parse_cloudevent(raw)
    return [(p.field, p.message) for p in caught.value.problems]


def fields(raw: Any) -> list[str]:
    """The fields named by the problems parsing `raw` raises."""
    return [field for field, _ in refused(raw)]


@pytest.fixture
def manifest(support_data: dict[str, Any]) -> AISystemManifest:
    """The support assistant as registered."""
    return parse_manifest(json.loads(json.dumps(support_data, default=str)))


def test_scope_change_parses_with_its_envelope() -> None:
    """A valid event keeps its id, source, subject and time; source#id is its idempotency key."""
    parsed = parse_cloudevent(
        event({"add_write": [" crm.accounts "]}, time="2026-11-26T09:30:00Z", traceparent="00-x")
    )
    assert isinstance(parsed.change, ScopeChange)
    assert parsed.change.add_write == ["crm.accounts"]
    assert parsed.time is not None and parsed.time.utcoffset() is not None
    assert event_key(parsed) == "/ci/deploy/support-assistant#deploy-42"


@pytest.mark.parametrize(
    ("drop", "field"), [("id", "id"), ("source", "source"), ("subject", "subject")]
)
def test_missing_required_attribute_is_named(drop: str, field: str) -> None:
    """An event without a required attribute is refused naming that attribute."""
    raw = event({"add_write": ["crm.accounts"]})
    del raw[drop]
    assert fields(raw) == [field]
    assert refused(raw)[0][1].startswith("missing:")


@pytest.mark.parametrize(
    ("attrs", "field", "hint"),
    [
        ({"specversion": "0.3"}, "specversion", 'set specversion to "1.0"'),
        ({"type": "com.example.other"}, "type", "allowed: dev.threshold.scope.changed"),
        ({"type": ["not", "hashable"]}, "type", "is not supported"),
        ({"subject": "Support Assistant"}, "subject", "not a system id"),
        ({"source": "has spaces"}, "source", "without spaces"),
        ({"time": "yesterday"}, "time", "RFC 3339"),
        ({"time": "2026-02-30T10:00:00Z"}, "time", "not a real date"),
        ({"data": "add_write"}, "data", "JSON object"),
        ({"Bad-Name": 1}, "Bad-Name", "unknown attribute"),
        ({"data_base64": "eA=="}, "data_base64", "binary data is not accepted"),
    ],
)
def test_bad_envelope_is_refused_naming_the_attribute(
    attrs: dict[str, Any], field: str, hint: str
) -> None:
    """Each malformed attribute is named with what to do instead (never a crash)."""
    [(named, message)] = refused(event({"add_write": ["crm.accounts"]}) | attrs)
    assert named == field
    assert hint in message


@pytest.mark.parametrize(
    ("data", "field", "hint"),
    [
        ({"add_write": "crm.accounts"}, "data.add_write", "valid list"),
        ({"add_write": [""]}, "data.add_write[0]", "at least 1 character"),
        ({"autonomy": "reckless"}, "data.autonomy", "allowed: 'suggest_only'"),
        ({"add_writes": ["x"]}, "data.add_writes", "unknown field; allowed: add_read"),
        ({}, "data", "changes nothing"),
        (
            {"add_tools": ["refund"], "remove_tools": ["refund"]},
            "data.remove_tools[0]",
            "both added and removed",
        ),
    ],
)
def test_bad_scope_data_is_refused_naming_the_data_field(
    data: dict[str, Any], field: str, hint: str
) -> None:
    """Problems inside `data` are named as `data.<field>` with the fix."""
    [(named, message)] = refused(event(data))
    assert named == field
    assert hint in message


def test_every_problem_is_reported_at_once() -> None:
    """Envelope and data problems are not reported one per attempt."""
    raw = event({"add_write": "x"}, specversion="2.0")
    del raw["id"]
    assert fields(raw) == ["specversion", "id", "data.add_write"]
    data_only = event({"provider": "anthropic"}, kind=MODEL)
    assert fields(data_only) == ["data.name", "data.version"]


def test_not_an_object_is_refused() -> None:
    """A JSON value that is not an object is refused as a whole."""
    assert fields(["an", "array"]) == ["(event)"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"action": "removed"}, "data.credential_id"),
        ({"action": "added", "credential_id": "x"}, "data.credential"),
        ({"action": "revoked", "credential_id": "x"}, "data.action"),
    ],
)
def test_credential_change_needs_what_its_action_needs(data: dict[str, Any], field: str) -> None:
    """Removal names a credential id; adding or rotating carries the whole credential."""
    assert fields(event(data, kind=CREDENTIAL)) == [field]


def test_batch_gives_each_item_its_own_result() -> None:
    """A batch parses item by item: good items are events, bad ones their own error."""
    good = event({"add_tools": ["send_email"]})
    bad = event({"add_tools": ["send_email"]}, subject="NOPE")
    results = parse_batch([good, bad])
    assert isinstance(results[0], ScopeEvent)
    assert isinstance(results[1], InvalidInput)
    assert results[1].problems[0].field == "subject"
    with pytest.raises(InvalidInput) as caught:
        parse_batch(good)
    assert caught.value.problems[0].field == "(batch)"


def test_events_survive_a_json_round_trip(manifest: AISystemManifest) -> None:
    """Each event type comes back as the same typed change (workflow payloads are JSON)."""
    credential = manifest.credentials[0].model_dump(mode="json")
    kinds = [
        (SCOPE, {"remove_tools": ["search_kb"]}, ScopeChange),
        (MODEL, {"provider": "anthropic", "name": "claude-opus", "version": "5"}, ModelChange),
        (CREDENTIAL, {"action": "rotated", "credential": credential}, CredentialChange),
        (DECLARED, {"manifest": manifest.model_dump(mode="json")}, ManifestDeclared),
    ]
    for kind, data, model in kinds:
        parsed = parse_cloudevent(event(data, kind=kind))
        again = ScopeEvent.model_validate_json(parsed.model_dump_json())
        assert again == parsed
        assert type(again.change) is model


def test_apply_adds_removes_and_replaces(manifest: AISystemManifest) -> None:
    """Adding, removing and replacing scope fields gives the proposed manifest; nothing else moves."""
    parsed = parse_cloudevent(
        event(
            {
                "add_write": ["crm.accounts", "crm.accounts"],
                "add_tools": ["search_kb", "send_email"],
                "remove_read": ["kb.articles"],
                "autonomy": "autonomous",
            }
        )
    )
    proposed = apply_event(manifest, parsed)
    assert proposed.capabilities.write_targets == ["crm.accounts"]
    assert proposed.capabilities.tools == ["search_kb", "send_email"]
    assert proposed.capabilities.read_targets == ["crm.tickets"]
    assert proposed.autonomy is Autonomy.autonomous
    assert proposed.model == manifest.model
    assert proposed.credentials == manifest.credentials


def test_removing_what_is_not_there_is_refused(manifest: AISystemManifest) -> None:
    """Removing an unknown target names the item's position and lists what is current."""
    parsed = parse_cloudevent(event({"remove_write": ["crm.accounts"]}))
    with pytest.raises(InvalidInput) as caught:
        apply_event(manifest, parsed)
    [problem] = caught.value.problems
    assert problem.field == "data.remove_write[0]"
    assert "current: none" in problem.message


def test_model_and_credential_changes_apply(manifest: AISystemManifest) -> None:
    """A model change replaces the model; credentials are added, rotated and removed by id."""
    model = {"provider": "anthropic", "name": "claude-opus", "version": "5"}
    assert apply_event(manifest, parse_cloudevent(event(model, kind=MODEL))).model.name == (
        "claude-opus"
    )
    current = manifest.credentials[0].model_dump(mode="json")
    rotated = {**current, "vault_ref": "vault://kv/prod/support-assistant/crm-reader-v2"}
    rotation = parse_cloudevent(event({"action": "rotated", "credential": rotated}, CREDENTIAL))
    assert apply_event(manifest, rotation).credentials[0].vault_ref.endswith("-v2")
    removal = {"action": "removed", "credential_id": current["id"]}
    assert apply_event(manifest, parse_cloudevent(event(removal, CREDENTIAL))).credentials == []
    again = parse_cloudevent(event({"action": "added", "credential": current}, CREDENTIAL))
    with pytest.raises(InvalidInput) as caught:
        apply_event(manifest, again)
    assert caught.value.problems[0].field == "data.credential.id"
    assert "send action rotated" in caught.value.problems[0].message


def test_declared_manifest_replaces_the_whole_manifest(manifest: AISystemManifest) -> None:
    """A declared manifest becomes the proposal; one for another system is refused."""
    declared = manifest.model_dump(mode="json") | {"customer_facing": False}
    parsed = parse_cloudevent(event({"manifest": declared}, kind=DECLARED))
    assert apply_event(manifest, parsed).customer_facing is False
    other = parse_cloudevent(event({"manifest": declared | {"id": "other-system"}}, kind=DECLARED))
    with pytest.raises(InvalidInput) as caught:
        apply_event(manifest, other)
    assert caught.value.problems[0].field == "data.manifest.id"


def test_declared_manifest_problems_name_the_manifest_field(manifest: AISystemManifest) -> None:
    """An invalid declared manifest names `data.manifest.<field>`."""
    declared = manifest.model_dump(mode="json") | {"business_owner": "not-an-email"}
    assert fields(event({"manifest": declared}, kind=DECLARED)) == ["data.manifest.business_owner"]


def test_event_for_another_system_is_refused(manifest: AISystemManifest) -> None:
    """An event is applied only to the system its subject names."""
    parsed = parse_cloudevent(event({"add_tools": ["x"]}, subject="other-system"))
    with pytest.raises(InvalidInput) as caught:
        apply_event(manifest, parsed)
    assert caught.value.problems[0].field == "subject"
