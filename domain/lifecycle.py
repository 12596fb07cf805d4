"""Lifecycle states of an AI system and the deploy gate they imply."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.manifest import Environment


class LifecycleState(StrEnum):
    """Where a system is between registration and retirement."""

    registered = "registered"
    pilot = "pilot"
    promotion_pending = "promotion_pending"
    production = "production"
    revalidation_pending = "revalidation_pending"
    recertification_due = "recertification_due"
    overdue = "overdue"
    contained = "contained"
    retired = "retired"


PRODUCTION_STATES = frozenset(
    {
        LifecycleState.production,
        LifecycleState.revalidation_pending,
        LifecycleState.recertification_due,
        LifecycleState.overdue,
    }
)
CLOSED_STATES = frozenset({LifecycleState.contained, LifecycleState.retired})


class GateResult(BaseModel):
    """May this system deploy to this environment now, and why."""

    model_config = ConfigDict(frozen=True)
    system_id: str
    environment: Environment
    allowed: bool
    state: LifecycleState
    reasons: list[str] = Field(default_factory=list)


def evaluate_gate(*, system_id: str, state: LifecycleState, environment: Environment) -> GateResult:
    """Decide the deploy gate from lifecycle state alone (scope checks come on top)."""
    reasons: list[str] = []
    if state is LifecycleState.retired:
        reasons.append("the system is retired")
    elif state is LifecycleState.contained:
        reasons.append("the system is contained: every environment is closed until released")
    elif environment is Environment.production and state not in PRODUCTION_STATES:
        if state is LifecycleState.promotion_pending:
            reasons.append("promotion to production awaits approval")
        else:
            reasons.append(f"not approved for production (state: {state.value}); request promotion")
    allowed = not reasons
    if allowed:
        reasons.append(f"{state.value}: {environment.value} deploys are allowed")
    return GateResult(
        system_id=system_id, environment=environment, allowed=allowed, state=state, reasons=reasons
    )
