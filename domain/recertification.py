"""Recertification of production systems: the cycle, its deadlines, and what is due when.

Pure: the workflow keeps one `RecertificationStatus` per production system, asks
`next_deadline` for the one durable timer it needs, and runs the steps `due_steps` returns.
Every time is derived from the cycle's start, the policy and the tier, so a policy change
moves the pending deadlines (`reschedule`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import InvalidInput, Problem
from domain.policy import Policy, RiskTier, Role

CHECKLIST = (
    "access is still needed",
    "data scope is unchanged",
    "model behaviour was reviewed",
    "credentials were rotated and are still separate from pilot",
)
"""What every owner attests when recertifying."""


class RecertStep(StrEnum):
    """One deadline of a recertification cycle, in the order they fall due."""

    remind = "remind"
    request = "request"
    overdue = "overdue"
    contain = "contain"


class RecertificationStatus(BaseModel):
    """Where a production system's current recertification cycle stands."""

    model_config = ConfigDict(frozen=True)
    cycle: int = Field(default=1, description="1 for the first cycle after entering production.")
    risk_tier: RiskTier
    cadence_days: int
    period_start: datetime = Field(description="Entered production, or last recertified.")
    due_at: datetime
    remind_at: datetime | None = None
    overdue_at: datetime
    contain_at: datetime | None = None
    forward_due_at: datetime | None = Field(
        default=None, description="A material change brought the due date forward to this."
    )
    last_certified_at: datetime | None = None
    reminded_at: datetime | None = None
    requested_at: datetime | None = None
    request_id: str | None = Field(default=None, description="The open recertification request.")
    overdue_since: datetime | None = None
    ticket: str | None = Field(default=None, description="The overdue ticket's key (Jira/local).")
    ticket_id: str | None = Field(default=None, description="Threshold's id for that ticket.")
    gate_closed: bool = Field(default=False, description="Contained for being long overdue.")

    @property
    def overdue(self) -> bool:
        """Past the grace period and not recertified."""
        return self.overdue_since is not None

    @property
    def due(self) -> bool:
        """The cycle's request has opened (and it is not recertified yet)."""
        return self.requested_at is not None


def schedule(
    *,
    cycle: int,
    period_start: datetime,
    tier: RiskTier,
    policy: Policy,
    forward_due_at: datetime | None = None,
) -> dict[str, object]:
    """The cycle's deadlines under this policy."""
    rules = policy.recertification
    cadence = policy.recertification_days.for_tier(tier)
    due = period_start + timedelta(days=cadence)
    if forward_due_at is not None and forward_due_at < due:
        due = forward_due_at
    lead = timedelta(days=rules.reminder_lead_days)
    remind = due - lead if rules.reminder_lead_days > 0 and due - lead > period_start else None
    overdue = due + timedelta(days=rules.grace_days)
    after = rules.contain_after_overdue_days
    return {
        "cycle": cycle,
        "risk_tier": tier,
        "cadence_days": cadence,
        "period_start": period_start,
        "forward_due_at": forward_due_at,
        "due_at": due,
        "remind_at": remind,
        "overdue_at": overdue,
        "contain_at": overdue + timedelta(days=after) if after is not None else None,
    }


def start_cycle(
    now: datetime,
    tier: RiskTier,
    policy: Policy,
    *,
    previous: RecertificationStatus | None = None,
) -> RecertificationStatus:
    """A fresh cycle starting now (entering production, or just recertified)."""
    cycle = previous.cycle + 1 if previous is not None else 1
    certified = now if previous is not None else None
    return RecertificationStatus.model_validate(
        schedule(cycle=cycle, period_start=now, tier=tier, policy=policy)
        | {"last_certified_at": certified}
    )


def reschedule(
    status: RecertificationStatus, policy: Policy, tier: RiskTier | None = None
) -> RecertificationStatus:
    """The same cycle under a (possibly changed) policy or tier; steps taken stay taken."""
    times = schedule(
        cycle=status.cycle,
        period_start=status.period_start,
        tier=tier or status.risk_tier,
        policy=policy,
        forward_due_at=status.forward_due_at,
    )
    return status.model_copy(update=times)


def bring_forward(
    status: RecertificationStatus, now: datetime, policy: Policy
) -> RecertificationStatus:
    """After a material change: due no later than the policy's window from now."""
    within = policy.recertification.material_change_due_within_days
    if within is None or status.due:
        return status
    forward = now + timedelta(days=within)
    if status.forward_due_at is not None and status.forward_due_at <= forward:
        return status
    return reschedule(status.model_copy(update={"forward_due_at": forward}), policy)


def next_deadline(status: RecertificationStatus) -> tuple[datetime, RecertStep] | None:
    """The earliest step not taken yet, and when it falls due."""
    if status.remind_at is not None and status.reminded_at is None and status.requested_at is None:
        return status.remind_at, RecertStep.remind
    if status.requested_at is None:
        return status.due_at, RecertStep.request
    if status.overdue_since is None:
        return status.overdue_at, RecertStep.overdue
    if status.contain_at is not None and not status.gate_closed:
        return status.contain_at, RecertStep.contain
    return None


def due_steps(status: RecertificationStatus, now: datetime) -> list[RecertStep]:
    """Every step whose deadline has passed, in order (a reminder already late is skipped)."""
    steps: list[RecertStep] = []
    if status.requested_at is None and now >= status.due_at:
        steps.append(RecertStep.request)
    elif (
        status.remind_at is not None
        and status.reminded_at is None
        and status.requested_at is None
        and now >= status.remind_at
    ):
        steps.append(RecertStep.remind)
    if status.overdue_since is None and now >= status.overdue_at:
        steps.append(RecertStep.overdue)
    if status.contain_at is not None and not status.gate_closed and now >= status.contain_at:
        steps.append(RecertStep.contain)
    return steps


def recertification_roles(tier: RiskTier) -> list[Role]:
    """Who attests: both owners, and security for a high-risk system."""
    roles = [Role.business_owner, Role.technical_owner]
    return [*roles, Role.security] if tier is RiskTier.high else roles


def within(moment: datetime | None, now: datetime, days: float) -> bool:
    """True when `moment` is set and no later than `days` from now."""
    return moment is not None and moment <= now + timedelta(days=days)


WINDOW_UNITS = {"d": 1.0, "w": 7.0, "h": 1 / 24}


MAX_WINDOW_DAYS = 36_500


def parse_window(text: str, field: str) -> timedelta:
    """A window such as `30d`, `2w` or `12h` (a bare number is days); errors name the field."""
    raw = text.strip().lower()
    unit = raw[-1:] if raw[-1:] in WINDOW_UNITS else "d"
    number = raw[:-1] if raw[-1:] in WINDOW_UNITS else raw
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if not 0 <= value * WINDOW_UNITS[unit] <= MAX_WINDOW_DAYS:  # also refuses inf and nan
        raise InvalidInput(
            f"{field}: {text!r} is not a window",
            [
                Problem(
                    field,
                    "give a number of days, weeks or hours up to 100 years, e.g. 30d, 2w, 12h",
                )
            ],
        )
    return timedelta(days=value * WINDOW_UNITS[unit])
