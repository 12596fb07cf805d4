"""The lifecycle table: every edge lands where it says, every other pair is refused in words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.lifecycle_doc import render
from domain.errors import Conflict
from domain.lifecycle import PRODUCTION_STATES, LifecycleState
from domain.transitions import (
    EDGES,
    TABLE,
    Edge,
    Facts,
    LifecycleEvent,
    Target,
    advance,
    mermaid,
    standing,
)

S = LifecycleState
E = LifecycleEvent
DOC = Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md"
ILLEGAL = [(s, e) for s in LifecycleState for e in LifecycleEvent if (s, e) not in TABLE]


@pytest.mark.parametrize("edge", EDGES, ids=[f"{e.source}-{e.event}" for e in EDGES])
def test_each_edge_lands_on_its_target(edge: Edge) -> None:
    """Each legal edge moves the state to its named target, or to the one its facts resolve."""
    facts = Facts(contained_from=S.production)
    landed = advance(edge.source, edge.event, facts, "sys-1")
    if edge.target is Target.standing or edge.target is Target.previous:
        assert landed is S.production
    else:
        assert landed is edge.target


@pytest.mark.parametrize("pair", ILLEGAL, ids=[f"{s}-{e}" for s, e in ILLEGAL])
def test_each_missing_edge_is_refused_with_the_state_named(
    pair: tuple[LifecycleState, LifecycleEvent],
) -> None:
    """An event the table has no edge for is refused, naming the system and where it is.

    (A second registration says the system exists instead: where it is does not matter.)"""
    state, event = pair
    with pytest.raises(Conflict) as refused:
        advance(state, event, Facts(), "sys-1")
    assert "sys-1" in refused.value.message
    if event is E.register:
        assert "already registered" in refused.value.message
    else:
        assert state.value in refused.value.message


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (Facts(), S.production),
        (Facts(recertification_due=True), S.recertification_due),
        (Facts(revalidating=True, recertification_due=True), S.revalidation_pending),
        (Facts(overdue=True, revalidating=True), S.overdue),
    ],
)
def test_production_standing_orders_overdue_then_revalidation_then_due(
    facts: Facts, expected: LifecycleState
) -> None:
    """Where a production system stands: overdue beats revalidating, which beats due."""
    assert standing(facts) is expected


def test_release_returns_to_the_interrupted_state_or_pilot() -> None:
    """A released system goes back to the state containment interrupted (pilot if unknown)."""
    assert advance(S.contained, E.released, Facts(contained_from=S.pilot), "s") is S.pilot
    assert advance(S.contained, E.released, Facts(), "s") is S.pilot
    back = advance(S.contained, E.released, Facts(contained_from=S.overdue), "s")
    assert back is S.overdue


def test_a_pending_promotion_cannot_be_retired_and_a_retired_system_takes_nothing() -> None:
    """Retire waits for a pending promotion's decision; a retired system is a dead end."""
    with pytest.raises(Conflict, match="pending request"):
        advance(S.promotion_pending, E.retire, Facts(), "s")
    assert not [edge for edge in EDGES if edge.source is S.retired]
    with pytest.raises(Conflict, match="already retired"):
        advance(S.retired, E.retire, Facts(), "s")


def test_every_state_but_retired_can_be_contained_or_is_contained() -> None:
    """Containment reaches every open state: the seed's 'contained tomorrow' holds everywhere."""
    for state in LifecycleState:
        if state in (S.registered, S.retired, S.contained):
            continue
        assert advance(state, E.contain, Facts(), "s") is S.contained
    assert all((s, E.gate_closed) in TABLE for s in PRODUCTION_STATES)


def test_the_docs_page_is_generated_from_the_table() -> None:
    """docs/lifecycle.md shows exactly the diagram and edges the table holds."""
    text = DOC.read_text()
    found = re.search(r"```mermaid\n(.*?)```", text, re.S)
    assert found is not None, "docs/lifecycle.md has no mermaid block"
    assert found.group(1) == mermaid()
    assert text == render(), "docs/lifecycle.md is stale: run python -m core.lifecycle_doc"
