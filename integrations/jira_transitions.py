"""Choosing a Jira transition and resolution for a closing request, from what the workflow offers.

Pure functions over the JSON of `GET /issue/{key}/transitions?expand=transitions.fields`.
The named transition (or status) wins; when the workflow has none by that name, the first
transition into a status of the wanted category (`done`) is taken. A transition whose screen
has a `resolution` field gets the first preferred resolution it allows (else its first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DONE_CATEGORY = "done"
APPROVED_RESOLUTIONS = ("Done", "Fixed", "Resolved", "Approved", "Complete")
REJECTED_RESOLUTIONS = ("Won't Do", "Won't Fix", "Declined", "Rejected", "Cancelled", "Incomplete")


@dataclass(frozen=True)
class TransitionPlan:
    """The transition to take, the status it reaches, and the resolution to set (if any)."""

    id: str
    name: str
    status: str
    by_category: bool
    resolution: str | None = None


def _target(transition: dict[str, Any]) -> dict[str, Any]:
    to = transition.get("to")
    return to if isinstance(to, dict) else {}


def status_category(status: dict[str, Any]) -> str:
    """The category key (new, indeterminate, done) of a rendered status."""
    category = status.get("statusCategory")
    return str(category.get("key", "")) if isinstance(category, dict) else ""


def _named(available: Sequence[dict[str, Any]], name: str) -> dict[str, Any] | None:
    wanted = name.casefold()
    return next(
        (
            t
            for t in available
            if wanted
            in (str(t.get("name", "")).casefold(), str(_target(t).get("name", "")).casefold())
        ),
        None,
    )


def _by_category(
    available: Sequence[dict[str, Any]], category: str, prefer: Sequence[str]
) -> dict[str, Any] | None:
    """The transition into `category` whose name or target best matches `prefer`, else the first."""
    into = [t for t in available if status_category(_target(t)) == category]
    for word in (p.casefold() for p in prefer):
        for transition in into:
            names = (str(transition.get("name", "")), str(_target(transition).get("name", "")))
            if any(word in n.casefold() for n in names):
                return transition
    return into[0] if into else None


def resolution_for(transition: dict[str, Any], prefer: Sequence[str]) -> str | None:
    """The resolution to send with a transition whose screen asks for one, else None."""
    fields = transition.get("fields")
    field = fields.get("resolution") if isinstance(fields, dict) else None
    if not isinstance(field, dict):
        return None
    allowed = [str(v.get("name")) for v in field.get("allowedValues") or [] if v.get("name")]
    if not allowed:
        return None
    by_fold = {a.casefold(): a for a in allowed}
    return next((by_fold[p.casefold()] for p in prefer if p.casefold() in by_fold), allowed[0])


def plan_transition(
    available: Sequence[dict[str, Any]],
    name: str,
    *,
    category: str = DONE_CATEGORY,
    prefer: Sequence[str] = (),
) -> TransitionPlan | None:
    """The transition named `name`, else one into `category`; None when the workflow has neither."""
    chosen, by_category = _named(available, name), False
    if chosen is None:
        chosen, by_category = _by_category(available, category, prefer), True
    if chosen is None:
        return None
    return TransitionPlan(
        id=str(chosen["id"]),
        name=str(chosen.get("name", "")),
        status=str(_target(chosen).get("name", "")),
        by_category=by_category,
        resolution=resolution_for(chosen, (name, *prefer)),
    )
