"""The deploy gate: which lifecycle states may deploy to which environment."""

from __future__ import annotations

import pytest

from domain.lifecycle import LifecycleState, evaluate_gate
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
