"""A system's nearest deadline: the estate view's urgency order (earliest first, none last).

Pure: one rule over the system's view, written to the projection's `urgency` column and shown
on the dashboard as "recertification: 12 days left" or "escalation: overdue 3 days".
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from domain.contracts import SystemView
from domain.lifecycle import LifecycleState
from domain.waivers import WaiverStatus

NO_DEADLINE = 2**62
"""The urgency key of a system with no deadline: after every real one."""


class Deadline(BaseModel):
    """The moment something about a system falls due, and what it is."""

    model_config = ConfigDict(frozen=True)
    at: datetime
    what: str


def deadlines(view: SystemView) -> list[Deadline]:
    """Every deadline of a system, whether still ahead or already passed.

    The pending request escalates and then expires; recertification is due (or long overdue);
    an active exception expires, and one that expired with its gap still there (production
    held) stays a passed deadline until the gap is fixed or waived again; an open just-in-time
    action approval expires in minutes. Retired: none.
    """
    if view.state is LifecycleState.retired:
        return []
    found: list[Deadline] = []
    pending = view.pending_request
    if pending is not None:
        found.append(Deadline(at=pending.escalate_at, what="escalation"))
        found.append(Deadline(at=pending.expires_at, what="request expiry"))
    recert = view.recertification
    if recert is not None:
        found.append(Deadline(at=recert.due_at, what="recertification"))
    for approval in view.action_approvals:
        if approval.status == "pending":
            found.append(Deadline(at=approval.expires_at, what="action approval expiry"))
    for waiver in view.exceptions:
        lapsed = waiver.status is WaiverStatus.expired and waiver.gap in view.lapsed_gaps
        if waiver.status is WaiverStatus.active or lapsed:
            found.append(Deadline(at=waiver.until, what="exception expiry"))
    return found


def next_deadline(view: SystemView) -> Deadline | None:
    """The earliest deadline (a passed one is overdue), or None."""
    found = deadlines(view)
    return min(found, key=lambda d: d.at) if found else None


def urgency_key(deadline: Deadline | None) -> int:
    """The sortable key: the deadline in epoch seconds, `NO_DEADLINE` without one."""
    return int(deadline.at.timestamp()) if deadline is not None else NO_DEADLINE
