"""The deploy gate: which lifecycle states may deploy to which environment."""

from __future__ import annotations

import pytest

from domain.lifecycle import DeclaredScope, GateResult, LifecycleState, Scope, evaluate_gate
from domain.manifest import Environment

S = LifecycleState


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (S.registered, "not approved for production (state: registered); request promotion"),
        (S.pilot, "not approved for production (state: pilot); request promotion"),
        (S.promotion_pending, "promotion to production awaits approval"),
    ],
)
def test_production_denied_before_approval(state: LifecycleState, reason: str) -> None:
    """A system not yet approved cannot deploy to production, and the gate says why."""
    gate = evaluate_gate(
        system_id="support-assistant", state=state, environment=Environment.production
    )
    assert gate.allowed is False
    assert gate.reasons == [reason]


@pytest.mark.parametrize(
    "state", [S.production, S.revalidation_pending, S.recertification_due, S.overdue]
)
def test_production_allowed_once_approved(state: LifecycleState) -> None:
    """An approved system keeps deploying to production during revalidation or recertification."""
    gate = evaluate_gate(
        system_id="support-assistant", state=state, environment=Environment.production
    )
    assert gate.allowed is True
    assert gate.state is state


@pytest.mark.parametrize("state", [S.registered, S.pilot, S.promotion_pending, S.production])
def test_pilot_allowed_for_open_systems(state: LifecycleState) -> None:
    """Any system that is neither contained nor retired may deploy to pilot."""
    gate = evaluate_gate(system_id="support-assistant", state=state, environment=Environment.pilot)
    assert gate.allowed is True


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (S.contained, "the system is contained: every environment is closed until released"),
        (S.retired, "the system is retired"),
    ],
)
@pytest.mark.parametrize("environment", list(Environment))
def test_contained_and_retired_close_every_environment(
    state: LifecycleState, reason: str, environment: Environment
) -> None:
    """Contained and retired systems are denied in every environment, with the reason."""
    gate = evaluate_gate(system_id="procurement-agent", state=state, environment=environment)
    assert gate.allowed is False
    assert gate.reasons == [reason]
    assert gate.environment is environment


# --- the declared scope (scope-change events on a production system) ------------------------

WRITE = ["new write access: crm.accounts"]


def scoped_gate(declared: DeclaredScope, scope: Scope) -> GateResult:
    """The production gate of a production system with a declared scope."""
    return evaluate_gate(
        system_id="support-assistant",
        state=S.revalidation_pending,
        environment=Environment.production,
        scope=scope,
        declared=declared,
    )


def test_pending_revalidation_allows_approved_and_denies_declared_scope() -> None:
    """While a material change awaits revalidation the approved scope deploys, the declared
    one is denied with the request, the roles and the change."""
    declared = DeclaredScope(
        material=WRITE, request_id="support-assistant-2", roles=["technical_owner", "security"]
    )
    approved = scoped_gate(declared, Scope.approved)
    assert approved.allowed is True
    assert approved.reasons[1] == (
        "declared scope awaits revalidation support-assistant-2 by technical_owner, security: "
        "new write access: crm.accounts"
    )
    denied = scoped_gate(declared, Scope.declared)
    assert denied.allowed is False
    assert denied.scope is Scope.declared
    assert denied.reasons == approved.reasons[1:]


def test_suspend_policy_denies_production_while_revalidation_is_open() -> None:
    """With on_material_change: suspend neither scope may deploy until revalidated."""
    declared = DeclaredScope(material=WRITE, request_id="support-assistant-2", suspend=True)
    for scope in Scope:
        gate = scoped_gate(declared, scope)
        assert gate.allowed is False
        assert gate.reasons[0] == (
            "production is suspended until revalidation support-assistant-2 is approved"
        )


def test_rejected_change_names_the_rollback() -> None:
    """After a rejection the approved scope deploys and the declared one says what to undo."""
    declared = DeclaredScope(
        material=WRITE, rejected="support-assistant-2 rejected: no", suspend=True
    )
    assert scoped_gate(declared, Scope.approved).allowed is True
    denied = scoped_gate(declared, Scope.declared)
    assert denied.reasons == [
        "declared scope was not approved (support-assistant-2 rejected: no); "
        "roll back: new write access: crm.accounts"
    ]


def test_declared_scope_never_opens_a_closed_gate() -> None:
    """Scope never overrides the lifecycle: a pilot or contained system stays denied."""
    declared = DeclaredScope(material=WRITE, request_id="r-1")
    for state in (S.pilot, S.contained):
        gate = evaluate_gate(
            system_id="x",
            state=state,
            environment=Environment.production,
            scope=Scope.declared,
            declared=declared,
        )
        assert gate.allowed is False
        assert "revalidation" not in " ".join(gate.reasons)
