"""Dormancy (OWASP NHI1): credentials and systems with no recorded action for N days."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from domain.contracts import SystemView
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
