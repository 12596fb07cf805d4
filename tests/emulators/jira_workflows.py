"""Jira workflows the emulator can run: statuses with categories, transitions, screens.

`SIMPLIFIED` is Jira Cloud's team-managed default (To Do / In Progress / Done / Won't Do,
transitions named after their target, no screens). `CLASSIC` is Jira Data Center's built-in
"jira" workflow (Open / In Progress / Resolved / Reopened / Closed): no `Won't Do` and no
`Done`, and "Resolve Issue" / "Close Issue" show a screen whose required `resolution` field
offers Fixed, Won't Fix, Duplicate, Incomplete and Cannot Reproduce. `REVIEW_ONLY` reaches no
done-category status at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# status category key -> (id, name, colour), as Jira reports them
CATEGORIES = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}
RESOLUTIONS = {
    "Done": "10000",
    "Won't Do": "10001",
    "Declined": "10002",
    "Fixed": "1",
    "Won't Fix": "2",
    "Duplicate": "3",
    "Incomplete": "4",
    "Cannot Reproduce": "5",
}


@dataclass(frozen=True)
class Transition:
    """One workflow transition: its id, its name, where it leads, what its screen asks."""

    id: str
    name: str
    to: str
    resolutions: tuple[str, ...] = ()  # a screen with a required resolution field


@dataclass(frozen=True)
class Workflow:
    """Statuses (name -> (id, category key)) and the transitions out of each status."""

    name: str
    initial: str
    statuses: dict[str, tuple[str, str]]
    transitions: dict[str, tuple[Transition, ...]] = field(default_factory=dict)

    def category(self, status: str) -> str:
        """The category key (new, indeterminate, done) of a status."""
        return self.statuses[status][1]

    def available(self, status: str) -> tuple[Transition, ...]:
        """Transitions a person can take from `status`."""
        return self.transitions.get(status, ())

    def find(self, status: str, transition_id: str) -> Transition | None:
        """The transition with this id out of `status`, if there is one."""
        return next((t for t in self.available(status) if t.id == transition_id), None)


def _to(name: str, ident: str) -> Transition:
    return Transition(ident, name, name)


SIMPLIFIED = Workflow(
    name="simplified",
    initial="To Do",
    statuses={
        "To Do": ("10000", "new"),
        "In Progress": ("3", "indeterminate"),
        "Done": ("10001", "done"),
        "Won't Do": ("10002", "done"),
    },
    transitions={
        "To Do": (_to("In Progress", "21"), _to("Done", "31"), _to("Won't Do", "41")),
        "In Progress": (_to("To Do", "11"), _to("Done", "31"), _to("Won't Do", "41")),
        "Done": (_to("To Do", "11"),),
        "Won't Do": (_to("To Do", "11"),),
    },
)
_DC_RESOLUTIONS = ("Fixed", "Won't Fix", "Duplicate", "Incomplete", "Cannot Reproduce")
_START = Transition("4", "Start Progress", "In Progress")
_RESOLVE = Transition("5", "Resolve Issue", "Resolved", _DC_RESOLUTIONS)
_CLOSE = Transition("2", "Close Issue", "Closed", _DC_RESOLUTIONS)
_REOPEN = Transition("3", "Reopen Issue", "Reopened")
CLASSIC = Workflow(
    name="classic",
    initial="Open",
    statuses={
        "Open": ("1", "new"),
        "In Progress": ("3", "indeterminate"),
        "Reopened": ("4", "new"),
        "Resolved": ("5", "done"),
        "Closed": ("6", "done"),
    },
    transitions={
        "Open": (_START, _RESOLVE, _CLOSE),
        "Reopened": (_START, _RESOLVE, _CLOSE),
        "In Progress": (Transition("301", "Stop Progress", "Open"), _RESOLVE, _CLOSE),
        "Resolved": (Transition("701", "Close Issue", "Closed"), _REOPEN),
        "Closed": (_REOPEN,),
    },
)
REVIEW_ONLY = Workflow(
    name="review-only",
    initial="Open",
    statuses={"Open": ("1", "new"), "In Review": ("10100", "indeterminate")},
    transitions={
        "Open": (Transition("51", "Send to review", "In Review"),),
        "In Review": (Transition("61", "Back to open", "Open"),),
    },
)
WORKFLOWS = {w.name: w for w in (SIMPLIFIED, CLASSIC, REVIEW_ONLY)}
