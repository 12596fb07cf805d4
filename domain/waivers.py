"""Time-boxed exceptions: a security-approved waiver of one named gap, until a date.

Pure: checks a grant against the policy and the system's gaps, tells which gaps are waived
now, and which waiver expires next.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import Conflict, InvalidInput, Problem
from domain.policy import Policy
from domain.requirements import Gap

GAP_CODES = frozenset(
    {
        "no_business_owner",
        "no_technical_owner",
        "owners_not_distinct",
        "no_use_case",
        "no_logging_policy",
        "human_approval_undefined",
        "pilot_credential_in_production",
        "credential_without_owner",
        "credential_without_expiry",
        "credential_expired",
        "credential_too_long_lived",
        "shared_credential",
    }
)
"""Every gap code `gaps.find_gaps` can raise."""


class WaiverStatus(StrEnum):
    """Where an exception stands."""

    pending = "pending"
    active = "active"
    rejected = "rejected"
    expired = "expired"
    revoked = "revoked"


class GapException(BaseModel):
    """A waiver of one gap until a moment, asked for by one person and approved by security."""

    model_config = ConfigDict(frozen=True)
    gap: str
    until: datetime
    reason: str
    requested_by: str
    requested_at: datetime
    request_id: str
    status: WaiverStatus = WaiverStatus.pending
    granted_by: list[str] = Field(default_factory=list)
    ended_at: datetime | None = None
    ended_by: str | None = None
    ticket: str | None = Field(default=None, description="Ticket recording its expiry.")

    def waives(self, now: datetime) -> bool:
        """True while active and not past its end."""
        return self.status is WaiverStatus.active and now < self.until


def waived_codes(exceptions: Sequence[GapException], now: datetime) -> set[str]:
    """Gap codes waived right now."""
    return {e.gap for e in exceptions if e.waives(now)}


def unwaived(gaps: Sequence[Gap], exceptions: Sequence[GapException], now: datetime) -> list[Gap]:
    """The gaps no active exception waives."""
    codes = waived_codes(exceptions, now)
    return [gap for gap in gaps if gap.code not in codes]


def next_expiry(exceptions: Sequence[GapException]) -> GapException | None:
    """The active exception that ends first."""
    active = [e for e in exceptions if e.status is WaiverStatus.active]
    return min(active, key=lambda e: e.until) if active else None


def check_grant(
    *,
    gap: str,
    until: datetime,
    reason: str,
    now: datetime,
    policy: Policy,
    gaps: Sequence[Gap],
    exceptions: Sequence[GapException],
) -> None:
    """Refuse a grant that names no current gap, is too long, or repeats an open one."""
    problems: list[Problem] = []
    if gap not in GAP_CODES:
        problems.append(Problem("gap", f"unknown gap {gap!r}; use one of {sorted(GAP_CODES)}"))
    elif gap not in {g.code for g in gaps}:
        present = ", ".join(sorted({g.code for g in gaps})) or "none"
        problems.append(Problem("gap", f"the system has no gap {gap}; its gaps: {present}"))
    limit = policy.exceptions.max_days
    if until <= now:
        problems.append(Problem("until", "the waiver must end in the future"))
    elif until - now > timedelta(days=limit):
        latest = (now + timedelta(days=limit)).date().isoformat()
        problems.append(
            Problem("until", f"longer than exceptions.max_days ({limit:g}); end by {latest}")
        )
    if not reason.strip():
        problems.append(Problem("reason", "say why the gap may be waived"))
    if problems:
        raise InvalidInput(
            "invalid exception: " + "; ".join(f"{p.field}: {p.message}" for p in problems),
            problems,
        )
    open_one = next(
        (
            e
            for e in exceptions
            if e.gap == gap and e.status in (WaiverStatus.pending, WaiverStatus.active)
        ),
        None,
    )
    if open_one is not None:
        raise Conflict(
            f"gap {gap} already has a {open_one.status.value} exception ({open_one.request_id}) "
            f"until {open_one.until:%Y-%m-%d}; revoke it first"
        )


def ended(
    exception: GapException, status: WaiverStatus, now: datetime, by: str | None = None
) -> GapException:
    """The exception closed (expired, revoked or rejected)."""
    return exception.model_copy(update={"status": status, "ended_at": now, "ended_by": by})


def replace(exceptions: Sequence[GapException], new: GapException) -> list[GapException]:
    """The list with the exception of the same request replaced."""
    return [new if e.request_id == new.request_id else e for e in exceptions]
