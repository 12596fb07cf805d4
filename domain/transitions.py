"""The lifecycle as data: every edge (state, event → state) and the refusal of every other.

This table is the only place a system's state changes. Workflows name the event that happened
and `advance` answers the next state, or refuses with the edge's message. Two targets are
resolved from facts rather than named: `STANDING` is where a production system stands
(overdue, then revalidating, then recertification due, else production) and `PREVIOUS` is
the state a containment interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.errors import Conflict
from domain.lifecycle import CLOSED_STATES, PRODUCTION_STATES, LifecycleState

S = LifecycleState


class LifecycleEvent(StrEnum):
    """What happened to a system, in the words of the transition table."""

    register = "register"
    amend = "amend"
    request_promotion = "request_promotion"
    promotion_approved = "promotion_approved"
    promotion_closed = "promotion_closed"
    change_recorded = "change_recorded"
    revalidation_opened = "revalidation_opened"
    revalidation_closed = "revalidation_closed"
    recertification_step = "recertification_step"
    recertified = "recertified"
    gate_closed = "gate_closed"
    gate_reopened = "gate_reopened"
    contain = "contain"
    request_release = "request_release"
    released = "released"
    release_closed = "release_closed"
    retire = "retire"
    retirement_started = "retirement_started"
    retirement_confirmed = "retirement_confirmed"


E = LifecycleEvent


class Target(StrEnum):
    """A target resolved from facts instead of named in the table."""

    standing = "STANDING"
    previous = "PREVIOUS"


@dataclass(frozen=True)
class Facts:
    """What a fact-resolved target needs to know about the system after the event."""

    overdue: bool = False
    revalidating: bool = False
    recertification_due: bool = False
    contained_from: LifecycleState | None = None


@dataclass(frozen=True)
class Edge:
    """One legal transition."""

    source: LifecycleState
    event: LifecycleEvent
    target: LifecycleState | Target


PRODUCTION = tuple(s for s in LifecycleState if s in PRODUCTION_STATES)
OPEN = (S.pilot, S.promotion_pending, *PRODUCTION)
CHANGEABLE = (S.pilot, *PRODUCTION)


def _edges() -> tuple[Edge, ...]:
    edges = [
        Edge(S.registered, E.register, S.pilot),
        Edge(S.pilot, E.amend, S.pilot),
        Edge(S.pilot, E.request_promotion, S.promotion_pending),
        Edge(S.promotion_pending, E.promotion_approved, Target.standing),
        Edge(S.promotion_pending, E.promotion_closed, S.pilot),
        Edge(S.pilot, E.change_recorded, S.pilot),
        Edge(S.contained, E.recertification_step, S.contained),
        Edge(S.contained, E.recertified, S.contained),
        Edge(S.contained, E.gate_reopened, Target.standing),
        Edge(S.contained, E.request_release, S.contained),
        Edge(S.contained, E.released, Target.previous),
        Edge(S.contained, E.release_closed, S.contained),
        Edge(S.contained, E.retirement_started, S.contained),
        Edge(S.contained, E.retirement_confirmed, S.retired),
        Edge(S.contained, E.retire, S.retired),
    ]
    for state in PRODUCTION:
        for event in (
            E.change_recorded,
            E.revalidation_opened,
            E.revalidation_closed,
            E.recertification_step,
            E.recertified,
        ):
            edges.append(Edge(state, event, Target.standing))
        edges.append(Edge(state, E.gate_closed, S.contained))
    for state in OPEN:
        edges += [
            Edge(state, E.contain, S.contained),
            Edge(state, E.retirement_started, S.contained),
        ]
        if state is not S.promotion_pending:  # its pending request is decided or expires first
            edges.append(Edge(state, E.retire, S.retired))
    return tuple(edges)


EDGES: tuple[Edge, ...] = _edges()
TABLE: dict[tuple[LifecycleState, LifecycleEvent], LifecycleState | Target] = {
    (edge.source, edge.event): edge.target for edge in EDGES
}

REFUSALS: dict[LifecycleEvent, str] = {
    E.register: "system {system} is already registered; amend it instead",
    E.amend: "system {system} is {state}; only a pilot system's manifest can be amended "
    "(production changes go through scope-change events)",
    E.request_promotion: "system {system} is {state}; only a pilot can be promoted",
    E.change_recorded: "system {system} is {state}; it takes scope changes in pilot or "
    "production only",
    E.revalidation_opened: "system {system} is {state}; only a production system is revalidated",
    E.recertification_step: "system {system} is {state}; only a production system is recertified",
    E.recertified: "system {system} is {state}; only a production system is recertified",
    E.contain: "system {system} is already {state}",
    E.request_release: "system {system} is {state}; only a contained system can be released",
    E.retire: "system {system} is {state}; decide or withdraw its pending request first",
    E.retirement_started: "system {system} is already {state}",
}
"""The refusal of an event from a state with no edge for it (`{system}`, `{state}`)."""

REFUSALS_FROM: dict[tuple[LifecycleState, LifecycleEvent], str] = {
    (S.retired, E.retire): "system {system} is already retired",
    (S.retired, E.retirement_started): "system {system} is already retired",
}
"""Refusals worded for one source state, where the event's own wording would mislead."""


def standing(facts: Facts) -> LifecycleState:
    """Where a production system stands: overdue, revalidating, recertification due, or not."""
    if facts.overdue:
        return S.overdue
    if facts.revalidating:
        return S.revalidation_pending
    if facts.recertification_due:
        return S.recertification_due
    return S.production


def allowed(state: LifecycleState, event: LifecycleEvent) -> bool:
    """True when the table has an edge for `event` from `state`."""
    return (state, event) in TABLE


def refusal(state: LifecycleState, event: LifecycleEvent, system_id: str) -> Conflict:
    """The refusal of an illegal edge, in the words users see."""
    template = REFUSALS_FROM.get((state, event)) or REFUSALS.get(
        event, "system {system} is {state}; it cannot take " + event.value
    )
    return Conflict(template.format(system=system_id, state=state.value))


def require(state: LifecycleState, event: LifecycleEvent, system_id: str) -> None:
    """Refuse `event` from `state` unless the table has an edge for it."""
    if not allowed(state, event):
        raise refusal(state, event, system_id)


def advance(
    state: LifecycleState, event: LifecycleEvent, facts: Facts, system_id: str
) -> LifecycleState:
    """The state after `event` from `state` (a refusal when the table has no such edge)."""
    target = TABLE.get((state, event))
    if target is None:
        raise refusal(state, event, system_id)
    if target is Target.standing:
        return standing(facts)
    if target is Target.previous:
        back = facts.contained_from
        return back if back is not None and back not in CLOSED_STATES else S.pilot
    assert isinstance(target, LifecycleState)
    return target


def mermaid() -> str:
    """The table as a Mermaid state diagram: edges between the same two states share a line.

    The four production states are drawn inside one `in_production` state; an edge whose
    target is resolved from facts points at it (`STANDING`) or is drawn to pilot and to it
    (`PREVIOUS`).
    """
    family = "in_production"
    labels: dict[tuple[str, str], list[str]] = {}
    for edge in EDGES:
        source = edge.source.value
        if edge.target is Target.standing:
            targets = [family]
            source = family if edge.source in PRODUCTION_STATES else source
        elif edge.target is Target.previous:
            targets = [S.pilot.value, family]
        else:
            targets = [edge.target.value]
            source = family if edge.source in PRODUCTION_STATES else source
        for target in targets:
            names = labels.setdefault((source, target), [])
            if edge.event.value not in names:
                names.append(edge.event.value)
    lines = ["stateDiagram-v2", "    [*] --> registered"]
    lines.append(f"    state {family} {{")
    lines += [f"        {s.value}" for s in PRODUCTION]
    lines.append("    }")
    lines += [f"    {a} --> {b}: {', '.join(names)}" for (a, b), names in labels.items()]
    lines.append("    retired --> [*]")
    return "\n".join(lines) + "\n"
