"""`domain.authorize.decide`: the ledger's rules as allow, deny or require_approval."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.actions import ActionScope
from domain.authorize import AuthorizeRequest, RuntimeDecision, as_record, decide
from domain.manifest import ModelRef
from domain.runtime_model import accepted_names

SCOPE = ActionScope(
    system_id="support-assistant",
    version=7,
    state="production",
    production=True,
    tools=frozenset({"search_kb"}),
    read_targets=frozenset({"kb.articles"}),
    approvals=frozenset({"send reply to customer"}),
)


def ask(**fields: object) -> AuthorizeRequest:
    """A request within SCOPE unless overridden."""
    body = {"system": "support-assistant", "environment": "production", "tool": "search_kb"}
    return AuthorizeRequest.model_validate({"access": "read", **body, **fields})


def test_within_scope_is_allowed_naming_the_version() -> None:
    """A call within the approved scope is allowed, naming the scope and its version."""
    decided = decide(SCOPE, as_record(ask(target="kb.articles"), datetime.now(UTC)), stale=False)
    assert decided.decision is RuntimeDecision.allow
    assert "support-assistant v7 (production)" in decided.reasons[0]


def test_out_of_scope_write_is_denied_with_each_finding() -> None:
    """An unapproved tool writing an unapproved target is denied with both findings."""
    record = as_record(ask(tool="drop", access="write", target="crm"), datetime.now(UTC))
    decided = decide(SCOPE, record, stale=False)
    assert decided.decision is RuntimeDecision.deny
    assert decided.codes == ["tool_out_of_scope", "target_out_of_scope"]


def test_human_approval_action_requires_approval_unless_approved() -> None:
    """An action a use case names for human approval asks for one; approved, it is allowed."""
    request = ask(action="Send reply to customer")
    assert decide(SCOPE, as_record(request, datetime.now(UTC)), stale=False).decision is (
        RuntimeDecision.require_approval
    )
    approved = as_record(request, datetime.now(UTC), approved_by="dana@example.com")
    assert decide(SCOPE, approved, stale=False).decision is RuntimeDecision.allow


def test_stale_snapshot_denies_production_only() -> None:
    """A stale snapshot denies a production scope and decides a pilot one as usual."""
    record = as_record(ask(), datetime.now(UTC))
    stale = decide(SCOPE, record, stale=True)
    assert stale.decision is RuntimeDecision.deny and stale.codes == ["snapshot_stale"]
    pilot = SCOPE.model_copy(update={"production": False, "state": "pilot"})
    in_pilot = as_record(ask(environment="pilot"), datetime.now(UTC))
    assert decide(pilot, in_pilot, stale=True).decision is RuntimeDecision.allow


def test_a_system_not_approved_for_production_is_denied_in_production() -> None:
    """A pilot (or one awaiting promotion) acting in production is denied, naming its state;
    a production system acting in the pilot environment stays allowed."""
    for state in ("registered", "pilot", "promotion_pending"):
        pilot = SCOPE.model_copy(update={"production": False, "state": state})
        decided = decide(pilot, as_record(ask(), datetime.now(UTC)), stale=False)
        assert decided.decision is RuntimeDecision.deny, state
        assert decided.codes == ["environment_not_approved"], state
        assert f"(state: {state}): promote it first" in decided.reasons[0]
    in_pilot = as_record(ask(environment="pilot"), datetime.now(UTC))
    assert decide(SCOPE, in_pilot, stale=False).decision is RuntimeDecision.allow


def test_a_model_other_than_the_approved_one_is_denied() -> None:
    """The approved model in any accepted spelling is allowed; another model, or another
    version of it, is denied as model_not_approved."""
    model = ModelRef(provider="anthropic", name="claude-sonnet", version="2026-09")
    scope = SCOPE.model_copy(update={"model": model, "model_names": accepted_names(model)})
    for same in ("claude-sonnet", "Claude-Sonnet:2026-09", "anthropic/claude-sonnet-2026-09"):
        record = as_record(ask(model=same), datetime.now(UTC))
        assert record.model == same
        assert decide(scope, record, stale=False).decision is RuntimeDecision.allow, same
    swapped = decide(scope, as_record(ask(model="gpt-5"), datetime.now(UTC)), stale=False)
    assert swapped.decision is RuntimeDecision.deny and swapped.codes == ["model_not_approved"]
    assert "model gpt-5 is not the approved anthropic/claude-sonnet 2026-09" in swapped.reasons[0]
    assert "a model swap needs revalidation" in swapped.reasons[0]
    bumped = as_record(ask(model="claude-sonnet:2026-11"), datetime.now(UTC))
    assert decide(scope, bumped, stale=False).codes == ["model_not_approved"]


def test_contained_scope_denies_everything() -> None:
    """A contained (or retired) system is denied even within its scope."""
    closed = SCOPE.model_copy(update={"closed": True, "state": "contained"})
    decided = decide(closed, as_record(ask(), datetime.now(UTC)), stale=False)
    assert decided.decision is RuntimeDecision.deny and "action_while_contained" in decided.codes
