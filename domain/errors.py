"""Governance errors; each carries a code the API maps to an HTTP status.

`GovernanceError` is the base: `InvalidInput` (422), `Conflict` (409), `Forbidden` (403),
`NotFound` (404). Each carries `problems`, a list of `Problem(field, message)` so callers can
show every reason at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong, with the field it concerns (dotted path) and how to fix it."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """Plain dict for JSON bodies and Temporal failure details."""
        return {"field": self.field, "message": self.message}


@dataclass
class GovernanceError(Exception):
    """A command refused by governance rules."""

    message: str
    problems: list[Problem] = field(default_factory=list)
    code: str = "conflict"

    def __str__(self) -> str:
        return self.message


class InvalidInput(GovernanceError):
    """The input itself is malformed or incomplete."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message, problems or [], "invalid")


class Conflict(GovernanceError):
    """The input is fine but the system's current state refuses it."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message, problems or [], "conflict")


class Forbidden(GovernanceError):
    """The principal may not do this."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message, problems or [], "forbidden")


class NotFound(GovernanceError):
    """The thing named does not exist."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message, problems or [], "not_found")
