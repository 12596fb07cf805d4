"""The audit ledger: verify the chain, read events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.auth import READERS, Principal
from api.deps import EngineDep, SessionDep, require
from db.actions import verify_actions
from db.ledger import list_events, verify_chains

router = APIRouter(prefix="/audit", tags=["audit"])
Reader = Annotated[Principal, Depends(require(READERS))]


@router.get("/verify")
def verify(engine: EngineDep, _: Reader, system: str | None = None) -> dict[str, Any]:
    """Recompute every hash chain of the audit and action ledgers; the first broken entry."""
    audit = verify_chains(engine, chain_id=system)
    actions = verify_actions(engine, chain_id=system)
    first = audit.first_broken or actions.first_broken
    return {
        "ok": audit.ok and actions.ok,
        "entries_checked": audit.entries_checked + actions.entries_checked,
        "chains_checked": audit.chains_checked + actions.chains_checked,
        "first_broken": first.model_dump(mode="json") if first else None,
        "ledgers": {
            "audit": audit.model_dump(mode="json"),
            "actions": actions.model_dump(mode="json"),
        },
    }


@router.get("/events")
def events(
    session: SessionDep,
    _: Reader,
    system: str | None = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Audit entries, oldest first."""
    rows = list_events(session, system_id=system, since=since, limit=limit, offset=offset)
    return [row.model_dump(mode="json") for row in rows]
