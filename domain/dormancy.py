"""Dormancy (OWASP NHI1): credentials and systems with no recorded action for N days."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.contracts import DormancyEpisode, SystemView
from domain.lifecycle import PRODUCTION_STATES, LifecycleState
from domain.manifest import Environment

WATCHED = PRODUCTION_STATES | {LifecycleState.pilot}
"""States whose systems are expected to act; registered, contained and retired ones are not."""


class Dormant(BaseModel):
    """One credential (or, with no credential id, one system) idle past the policy's bound."""

    model_config = ConfigDict(frozen=True)

    system_id: str
    credential_id: str | None = None
    environment: str
    system_state: str
    last_action_at: datetime | None
    idle_since: datetime
    idle_days: int
    finding: bool = False
    review: str | None = Field(
        default=None, description="The review ticket's key, once the sweep opened one."
    )


def _idle(since: datetime, now: datetime) -> int:
    """Whole days from `since` to `now` (never negative)."""
    return max(0, (now - since).days)


def dormant(
    view: SystemView,
    last_use: Mapping[str, datetime],
    system_last: datetime | None,
    now: datetime,
    days: int,
) -> list[Dormant]:
    """The system's idle credentials and the system itself when idle; `days` 0 disables.

    A credential never used is idle since it was issued (else since the system registered);
    an unused production credential of a production system is a finding.
    """
    if days <= 0 or view.state not in WATCHED:
        return []
    out: list[Dormant] = []
    revoked = set(view.revocations)
    for credential in view.manifest.credentials:
        if credential.id in revoked:
            continue
        last = last_use.get(credential.id)
        since = last or credential.created_at or view.registered_at
        if _idle(since, now) < days:
            continue
        production = (
            credential.environment is Environment.production and view.state in PRODUCTION_STATES
        )
        out.append(
            Dormant(
                system_id=view.system_id,
                credential_id=credential.id,
                environment=credential.environment.value,
                system_state=view.state.value,
                last_action_at=last,
                idle_since=since,
                idle_days=_idle(since, now),
                finding=production,
            )
        )
    since = system_last or view.registered_at
    if _idle(since, now) >= days:
        out.append(
            Dormant(
                system_id=view.system_id,
                environment=(
                    Environment.production if view.state in PRODUCTION_STATES else Environment.pilot
                ).value,
                system_state=view.state.value,
                last_action_at=system_last,
                idle_since=since,
                idle_days=_idle(since, now),
            )
        )
    return out


SYSTEM_KEY = ""
"""The episode key of the system itself (credentials are keyed by their id)."""
FINDING_CODE = "credential_dormant"
"""The code of the finding an unused production credential of a production system raises."""
SWEEP_PAGE = 200
"""Systems per sweep page (one activity call, one signal per system in the page)."""


def episode_key(item: Dormant) -> str:
    """The key of an item's episode in `SystemView.dormancy`."""
    return item.credential_id or SYSTEM_KEY


def review_ticket_id(item: Dormant) -> str:
    """The review ticket's id: one per credential (or system) and episode (idle since)."""
    subject = item.credential_id or "system"
    return f"{item.system_id}-dormant-{subject}-{item.idle_since:%Y%m%dT%H%M%SZ}"


def finding_record_key(item: Dormant) -> str:
    """The finding row's key: one finding per credential and episode."""
    return f"dormancy:{item.system_id}:{item.credential_id}:{item.idle_since.isoformat()}"


def finding_message(item: Dormant, days: int) -> str:
    """What the finding says."""
    return (
        f"production credential {item.credential_id} has no recorded action for "
        f"{item.idle_days} days (bound {days}): revoke it or record why it is kept"
    )


def ended(
    before: Mapping[str, DormancyEpisode], after: Mapping[str, DormancyEpisode]
) -> list[tuple[str, DormancyEpisode]]:
    """The episodes of `before` that `after` no longer continues (their reviews close)."""
    return [
        (key, episode)
        for key, episode in before.items()
        if key not in after or after[key].ticket_id != episode.ticket_id
    ]


def fresh(
    episodes: Mapping[str, DormancyEpisode], items: list[Dormant]
) -> tuple[list[Dormant], dict[str, DormancyEpisode]]:
    """The items that start an episode, and the episodes open after this sweep.

    An item whose key holds an episode idle since the same moment continues it (a pilot
    promoted meanwhile makes it a finding); a later action moves `idle_since` (a new episode)
    or drops the item (the episode ends).
    """
    new: list[Dormant] = []
    open_: dict[str, DormancyEpisode] = {}
    for item in items:
        key = episode_key(item)
        known = episodes.get(key)
        if known is not None and known.idle_since == item.idle_since:
            open_[key] = known.model_copy(update={"finding": known.finding or item.finding})
            continue
        new.append(item)
        open_[key] = DormancyEpisode(
            idle_since=item.idle_since, ticket_id=review_ticket_id(item), finding=item.finding
        )
    return new, open_


class DormancySignal(BaseModel):
    """A sweep tells a system its dormant credentials and itself (empty: none any more)."""

    model_config = ConfigDict(frozen=True)

    items: list[Dormant]
    days: int
    at: datetime


class SweepInput(BaseModel):
    """Start or continue the dormancy sweep of one deployment (its workflow id prefix)."""

    model_config = ConfigDict(frozen=True)

    prefix: str = ""


class SweepJob(BaseModel):
    """One page of a sweep: systems after `after` (by id), as of `now` (workflow time)."""

    model_config = ConfigDict(frozen=True)

    now: datetime
    after: str = ""
    limit: int = SWEEP_PAGE


class SystemDormancy(BaseModel):
    """One system's dormant items in a sweep page (empty: its open episodes ended)."""

    model_config = ConfigDict(frozen=True)

    system_id: str
    items: list[Dormant]


class SweepPage(BaseModel):
    """What one page of a sweep found, the policy it used, and where the next page starts."""

    model_config = ConfigDict(frozen=True)

    days: int
    every_hours: int
    systems: list[SystemDormancy]
    findings: int = 0
    next_after: str | None = None


class SweepReport(BaseModel):
    """A finished sweep: as of when, how many systems were told, findings stored, the next."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    systems: int
    findings: int
    next_at: datetime
