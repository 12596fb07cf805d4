"""The audit ledger: verify the chain, read events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from api.auth import READERS, Principal
from api.deps import EngineDep, SessionDep, require
from api.evidence import MEDIA_TYPES, PackFormat, render_pack
from api.metrics import VERIFY_SECONDS
from api.openapi import READ, errors
from db.actions import verify_actions
from db.evidence import export_pack
from db.ledger import list_events, verify_chains
from domain.errors import InvalidInput, Problem

router = APIRouter(prefix="/audit", tags=["audit"])
Reader = Annotated[Principal, Depends(require(READERS))]


@router.get(
    "/verify",
    operation_id="verifyLedgers",
    summary="Verify the audit and action ledger hash chains",
    responses=errors(*READ),
)
def verify(engine: EngineDep, _: Reader, system: str | None = None) -> dict[str, Any]:
    """Recompute every hash chain of the audit and action ledgers; the first broken entry."""
    with VERIFY_SECONDS.labels("audit").time():
        audit = verify_chains(engine, chain_id=system)
    with VERIFY_SECONDS.labels("actions").time():
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


@router.get(
    "/events",
    operation_id="listAuditEvents",
    summary="Read audit ledger entries",
    responses=errors(*READ),
)
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


@router.get(
    "/export",
    operation_id="exportEvidence",
    summary="Export an evidence pack",
    responses=errors(*READ, 404),
)
def export(
    engine: EngineDep,
    principal: Reader,
    system: str | None = None,
    all_systems: Annotated[bool, Query(alias="all")] = False,
    fmt: Annotated[PackFormat, Query(alias="format")] = PackFormat.json,
    since: datetime | None = None,
) -> Response:
    """The evidence pack of one system (`system=ID`) or every system (`all=true`)."""
    if (system is None) == (not all_systems):
        raise InvalidInput(
            "say which systems to export",
            [Problem("system", "pass system=ID for one system or all=true for every system")],
        )
    pack = export_pack(engine, system_id=system, by=principal.email, since=since)
    return Response(render_pack(pack, fmt), media_type=MEDIA_TYPES[fmt])
