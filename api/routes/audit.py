"""The audit ledger: verify the chains (against a signed checkpoint), erase, read, export."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import ADMINS, READERS, Principal
from api.checkpoints import check_checkpoint, signed_pack, verified_checkpoint, verify_report
from api.deps import EngineDep, Offset, SessionDep, require
from api.evidence import MEDIA_TYPES, PackFormat, render_pack
from api.openapi import READ, errors
from core.signing import CheckpointSigner, SigningKeyError
from db.erasure import Erasure, erase_entry
from db.ledger import list_events
from db.tables import utcnow
from domain.checkpoints import Checkpoint
from domain.errors import InvalidInput, Problem
from domain.secrets import FreeText

router = APIRouter(prefix="/audit", tags=["audit"])
Reader = Annotated[Principal, Depends(require(READERS))]
Admin = Annotated[Principal, Depends(require(ADMINS))]


async def _signer(request: Request) -> CheckpointSigner:
    signer: CheckpointSigner | SigningKeyError = request.app.state.audit_signer
    if isinstance(signer, SigningKeyError):
        raise HTTPException(
            503, f"ledger checkpoints are unavailable: {signer}", {"Retry-After": "300"}
        )
    return signer


async def _signer_if_any(request: Request) -> CheckpointSigner | None:
    signer: CheckpointSigner | SigningKeyError = request.app.state.audit_signer
    return None if isinstance(signer, SigningKeyError) else signer


SignerDep = Annotated[CheckpointSigner, Depends(_signer)]
OptionalSignerDep = Annotated[CheckpointSigner | None, Depends(_signer_if_any)]


class VerifyAgainst(BaseModel):
    """A signed checkpoint to verify the ledgers against."""

    model_config = ConfigDict(extra="forbid")
    checkpoint: Checkpoint


class EraseRequest(BaseModel):
    """Why one entry's content is erased (kept in the ledger, so no secret here)."""

    model_config = ConfigDict(extra="forbid")
    reason: FreeText = Field(min_length=3, max_length=500)


@router.get(
    "/verify",
    operation_id="verifyLedgers",
    summary="Verify the audit and action ledger hash chains",
    responses=errors(*READ),
)
def verify(engine: EngineDep, _: Reader, system: str | None = None) -> dict[str, Any]:
    """Recompute every hash chain of both ledgers: every broken chain, every erased entry."""
    return verify_report(engine, system=system)


@router.post(
    "/verify",
    operation_id="verifyAgainst",
    summary="Verify the ledgers against a signed checkpoint",
    responses=errors(*READ, 503),
)
def verify_against(
    body: VerifyAgainst,
    engine: EngineDep,
    signer: SignerDep,
    _: Reader,
    system: str | None = None,
) -> dict[str, Any]:
    """Verify as GET does, and that every head a signed checkpoint lists is still as signed.

    A checkpoint whose signature does not match (altered, or another key's) is refused (422).
    """
    checked = check_checkpoint(engine, signer, body.checkpoint, system=system)
    report = verify_report(engine, system=system)
    return report | {"ok": report["ok"] and checked["ok"], "checkpoint": checked}


@router.post(
    "/checkpoints",
    status_code=201,
    operation_id="signCheckpoint",
    summary="Sign every chain head (admin)",
    responses=errors(*READ, 409, 503),
)
def checkpoint(engine: EngineDep, signer: SignerDep, principal: Admin) -> Checkpoint:
    """Sign every chain head now, once the chains verify (keep the JSON: it proves them later)."""
    return verified_checkpoint(engine, signer, by=principal.email)


@router.post(
    "/systems/{system_id}/entries/{seq}/erase",
    operation_id="eraseAuditEntry",
    summary="Erase one audit entry's content, keeping the chain (admin)",
    responses=errors(*READ, 404, 409),
)
def erase(
    body: EraseRequest,
    engine: EngineDep,
    principal: Admin,
    system_id: Annotated[str, Path(min_length=1, max_length=200)],
    seq: Annotated[int, Path(ge=1, le=2**62)],
) -> Erasure:
    """Erase one entry's content; its digest stays chained and a new entry records the erasure."""
    return erase_entry(
        engine,
        chain_id=system_id,
        seq=seq,
        by=principal.email,
        reason=body.reason,
        at=utcnow(),
    )


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
    offset: Offset = 0,
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
    signer: OptionalSignerDep,
    principal: Reader,
    system: str | None = None,
    all_systems: Annotated[bool, Query(alias="all")] = False,
    fmt: Annotated[PackFormat, Query(alias="format")] = PackFormat.json,
    since: datetime | None = None,
) -> Response:
    """The evidence pack of one system (`system=ID`) or every system (`all=true`).

    The pack carries a checkpoint signed at export of the chain heads it covers (none when this
    API has no usable signing key).
    """
    if (system is None) == (not all_systems):
        raise InvalidInput(
            "say which systems to export",
            [Problem("system", "pass system=ID for one system or all=true for every system")],
        )
    pack = signed_pack(engine, signer, system_id=system, by=principal.email, since=since)
    return Response(render_pack(pack, fmt), media_type=MEDIA_TYPES[fmt])
