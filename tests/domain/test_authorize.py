"""`domain.authorize.decide`: the ledger's rules as allow, deny or require_approval."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.actions import ActionScope
from domain.authorize import AuthorizeRequest, RuntimeDecision, as_record, decide

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
    assert decide(pilot, record, stale=True).decision is RuntimeDecision.allow


def test_contained_scope_denies_everything() -> None:
    """A contained (or retired) system is denied even within its scope."""
    closed = SCOPE.model_copy(update={"closed": True, "state": "contained"})
    decided = decide(closed, as_record(ask(), datetime.now(UTC)), stale=False)
    assert decided.decision is RuntimeDecision.deny and "action_while_contained" in decided.codes
