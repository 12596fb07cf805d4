"""What was approved for a system at a past moment, folded from its audit ledger entries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from domain.errors import InvalidInput, NotFound, Problem


@dataclass(frozen=True)
class LedgerEntry:
    """One audit entry as the fold reads it (detail parsed; None when erased)."""

    at: datetime
    actor: str
    action: str
    request_id: str | None
    detail: dict[str, Any] | None


class SystemAt(BaseModel):
    """A system as the audit ledger shows it at `at`."""

    system_id: str
    at: datetime
    state: str = Field(description="pilot, production, contained or retired at that moment.")
    registered_at: datetime
    declared_manifest: dict[str, Any] | None = Field(description="The manifest declared then.")
    approved_manifest: dict[str, Any] | None = Field(
        description="The manifest approved for production then (None: never approved yet)."
    )
    approved_at: datetime | None = None
    approved_by: list[str] = Field(default_factory=list, description="Who approved it.")
    approval_request: str | None = Field(default=None, description="The request that did.")
    credentials: list[str] = Field(
        default_factory=list, description="Ids of the credentials the approved manifest binds."
    )
    entries: int = Field(description="Ledger entries read (up to and including `at`).")


_DECLARES = frozenset({"registered", "manifest_amended", "scope_changed", "scope_change_assessed"})
_APPROVES = frozenset({"entered_production", "revalidation_approved"})
_STATES = {
    "registered": "pilot",
    "entered_production": "production",
    "contained": "contained",
    "released": "production",
    "retired": "retired",
}


def parse_at(value: str) -> datetime:
    """An ISO 8601 time (a time without a zone is UTC); refusals name `at`."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"at={value[:40]!r} is not a time",
            [Problem("at", "give an ISO 8601 time, e.g. 2026-11-30T12:00:00Z")],
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def system_at(system_id: str, at: datetime, entries: Iterable[LedgerEntry]) -> SystemAt:
    """Fold the entries (in ledger order) up to `at`; before registration is NotFound."""
    seen = [entry for entry in entries if entry.at <= at]
    first = next((e for e in seen if e.action == "registered"), None)
    if first is None:
        raise NotFound(f"{system_id} was not registered at {at.isoformat()}: ask for a later time")
    state, declared, approved = "pilot", None, None
    approved_at: datetime | None = None
    approvers: list[str] = []
    request: str | None = None
    for entry in seen:
        detail = entry.detail or {}
        state = _STATES.get(entry.action, state)
        if entry.action in _DECLARES and isinstance(detail.get("manifest"), dict):
            declared = detail["manifest"]
            if entry.action == "scope_change_assessed" and not detail.get("material"):
                approved, approved_at = declared, entry.at
        if entry.action in ("promotion_approved", "revalidation_approved"):
            approvers = [str(a) for a in detail.get("approvers") or []]
            request = entry.request_id
        if entry.action in _APPROVES:
            approved, approved_at, request = declared, entry.at, entry.request_id or request
    credentials = [str(c.get("id")) for c in (approved or {}).get("credentials") or []]
    return SystemAt(
        system_id=system_id,
        at=at,
        state=state,
        registered_at=first.at,
        declared_manifest=declared,
        approved_manifest=approved,
        approved_at=approved_at,
        approved_by=approvers if approved is not None else [],
        approval_request=request if approved is not None else None,
        credentials=credentials,
        entries=len(seen),
    )
