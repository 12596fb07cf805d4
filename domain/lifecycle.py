"""Lifecycle states of an AI system and the deploy gate they imply."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.manifest import Environment
from domain.requirements import Gap


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


class Scope(StrEnum):
    """Which scope a deploy carries: the approved one, or the one its repository declares."""

    approved = "approved"
    declared = "declared"


class DeclaredScope(BaseModel):
    """How the declared scope of a production system differs materially from the approved one."""

    model_config = ConfigDict(frozen=True)
    material: list[str] = Field(description="The material differences, in words.")
    request_id: str | None = Field(default=None, description="The open revalidation request.")
    roles: list[str] = Field(default_factory=list, description="Roles that must revalidate.")
    suspend: bool = Field(default=False, description="Policy on_material_change is suspend.")
    rejected: str = Field(default="", description="Why the last revalidation did not pass.")


class GateResult(BaseModel):
    """May this system deploy to this environment now, and why."""

    model_config = ConfigDict(frozen=True)
    system_id: str
    environment: Environment
    allowed: bool
    state: LifecycleState
    reasons: list[str] = Field(default_factory=list)
    scope: Scope = Scope.approved
    gaps: list[Gap] = Field(
        default_factory=list,
        description="Blocking gaps for this environment (credential gaps carry their NHI id).",
    )


def gap_line(gap: Gap) -> str:
    """A gap as one reason line, prefixed with its OWASP NHI id when it has one."""
    return f"blocking gap [{gap.nhi}] {gap.message}" if gap.nhi else f"blocking gap: {gap.message}"


def evaluate_gate(
    *,
    system_id: str,
    state: LifecycleState,
    environment: Environment,
    scope: Scope = Scope.approved,
    declared: DeclaredScope | None = None,
    holds: Sequence[str] = (),
    notes: Sequence[str] = (),
    gaps: list[Gap] | None = None,
) -> GateResult:
    """Decide the deploy gate from the lifecycle state and, in production, the declared scope.

    `holds` close the production gate of a production system (a lapsed waiver); `notes` are
    added to the reasons of any answer (a waiver in force, recertification overdue); `gaps`
    (the blocking gaps for `environment`, waived ones left out) are shown with the result and
    deny only where they block a promotion, i.e. a system not yet approved for production.
    """
    result = _decide_gate(system_id, state, environment, scope, declared)
    if result.allowed and environment is Environment.production and holds:
        result = result.model_copy(update={"allowed": False, "reasons": list(holds)})
    shown = list(gaps or [])
    reasons = list(result.reasons)
    if shown and not result.allowed and state not in PRODUCTION_STATES | CLOSED_STATES:
        reasons += [gap_line(gap) for gap in shown]
    return result.model_copy(update={"gaps": shown, "reasons": [*reasons, *notes]})


def _decide_gate(
    system_id: str,
    state: LifecycleState,
    environment: Environment,
    scope: Scope,
    declared: DeclaredScope | None,
) -> GateResult:
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
    if allowed and environment is Environment.production and declared and declared.material:
        return _scope_gate(system_id, state, scope, declared)
    if allowed:
        reasons.append(f"{state.value}: {environment.value} deploys are allowed")
    return GateResult(
        system_id=system_id,
        environment=environment,
        allowed=allowed,
        state=state,
        reasons=reasons,
        scope=scope,
    )


def _scope_gate(
    system_id: str, state: LifecycleState, scope: Scope, declared: DeclaredScope
) -> GateResult:
    """A production system whose declared scope has material changes not (yet) approved."""
    what = "; ".join(declared.material)
    request = declared.request_id
    if request is not None:
        roles = ", ".join(declared.roles) or "the required roles"
        pending = f"declared scope awaits revalidation {request} by {roles}: {what}"
    else:
        pending = f"declared scope was not approved ({declared.rejected}); roll back: {what}"
    if request is not None and declared.suspend:
        reasons = [f"production is suspended until revalidation {request} is approved", pending]
        allowed = False
    elif scope is Scope.declared:
        reasons, allowed = [pending], False
    else:
        reasons = [f"{state.value}: production deploys of the approved scope are allowed", pending]
        allowed = True
    return GateResult(
        system_id=system_id,
        environment=Environment.production,
        allowed=allowed,
        state=state,
        reasons=reasons,
        scope=scope,
    )
