"""The deploy gate of a system view at a moment: one rule for the workflow and the dashboard."""

from __future__ import annotations

from datetime import datetime

from domain.contracts import SystemView
from domain.lifecycle import PRODUCTION_STATES, GateResult, LifecycleState, Scope, evaluate_gate
from domain.manifest import Environment
from domain.scope import declared_scope
from domain.waivers import waived_codes


def waiver_lines(view: SystemView, now: datetime) -> list[str]:
    """Waivers in force at `now`, one line each (gap, expiry, request, who granted it)."""
    return [
        f"{e.gap} until {e.until:%Y-%m-%d} ({e.request_id}, granted by {', '.join(e.granted_by)})"
        for e in view.exceptions
        if e.waives(now)
    ]


def gate_notes(view: SystemView, now: datetime) -> list[str]:
    """Waivers in force and recertification standing, shown with every gate answer."""
    notes = [f"waiver: {text}" for text in waiver_lines(view, now)]
    recert = view.recertification
    if recert is not None and recert.overdue_since is not None:
        notes.append(f"recertification overdue since {recert.overdue_since:%Y-%m-%d}")
    elif recert is not None and view.state in PRODUCTION_STATES:
        notes.append(f"recertification due {recert.due_at:%Y-%m-%d}")
    return notes


def system_gate(
    system_id: str,
    view: SystemView | None,
    environment: Environment,
    scope: Scope,
    now: datetime,
) -> GateResult:
    """May the system deploy `scope` to `environment` at `now`, and why."""
    if view is None:
        return evaluate_gate(
            system_id=system_id,
            state=LifecycleState.registered,
            environment=environment,
            scope=scope,
        )
    gaps = None
    if environment is Environment.production:
        waived = waived_codes(view.exceptions, now)
        gaps = [g for g in view.production_requirements.blocking_gaps if g.code not in waived]
    return evaluate_gate(
        system_id=system_id,
        state=view.state,
        environment=environment,
        scope=scope,
        declared=declared_scope(view),
        holds=[
            f"the waiver of gap {code} ended and the gap is still there: production is "
            "held until it is fixed or a new exception is granted"
            for code in view.lapsed_gaps
        ],
        notes=gate_notes(view, now),
        gaps=gaps,
    )
