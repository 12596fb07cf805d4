"""Dormancy read: each watched system's view beside its last recorded actions (two queries)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from db.tables import ACTIONS, SYSTEMS
from domain.contracts import SystemView
from domain.dormancy import WATCHED, Dormant, dormant


def _when(text: str) -> datetime:
    """A stored ledger time (ISO 8601, UTC) as a datetime."""
    return datetime.fromisoformat(text)


def dormancy(
    session: Session,
    *,
    now: datetime,
    days: int,
    system_id: str | None = None,
    environment: str | None = None,
) -> list[Dormant]:
    """Dormant credentials and systems across the inventory (or one system, one environment)."""
    if days <= 0:
        return []
    views_q = select(SYSTEMS.c.view_json).where(SYSTEMS.c.state.in_([s.value for s in WATCHED]))
    a = ACTIONS.c
    last_q = select(a.chain_id, a.credential_id, func.max(a.at)).group_by(
        a.chain_id, a.credential_id
    )
    if system_id is not None:
        views_q = views_q.where(SYSTEMS.c.id == system_id)
        last_q = last_q.where(a.chain_id == system_id)
    per_credential: dict[str, dict[str, datetime]] = {}
    per_system: dict[str, datetime] = {}
    for chain, credential, at in session.execute(last_q):
        when = _when(at)
        if credential is not None:
            per_credential.setdefault(chain, {})[credential] = when
        if chain not in per_system or when > per_system[chain]:
            per_system[chain] = when
    out: list[Dormant] = []
    for text in session.execute(views_q.order_by(SYSTEMS.c.id)).scalars():
        view = SystemView.model_validate_json(text)
        found = dormant(
            view, per_credential.get(view.system_id, {}), per_system.get(view.system_id), now, days
        )
        out.extend(d for d in found if environment is None or d.environment == environment)
    return out
