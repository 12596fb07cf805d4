"""Cross-system governance: the exceptions list and applying the policy to running systems."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import ADMINS, READERS, Principal
from api.deps import IdempotencyKey, ServiceDep, SessionDep, require
from api.openapi import COMMAND, READ, errors
from api.schemas import ExceptionOut, PolicyApplied
from api.service import command_meta
from db.queries import systems_with_exceptions
from db.tables import utcnow
from domain.recertification import parse_window
from domain.waivers import WaiverStatus

router = APIRouter(tags=["governance"])
Reader = Annotated[Principal, Depends(require(READERS))]
Admin = Annotated[Principal, Depends(require(ADMINS))]


@router.get(
    "/exceptions",
    response_model=list[ExceptionOut],
    operation_id="listExceptions",
    summary="Active exceptions, soonest expiry first",
    responses=errors(*READ),
)
def list_exceptions(
    session: SessionDep,
    _: Reader,
    expiring_within: Annotated[str | None, Query(max_length=20, description="e.g. 14d")] = None,
    system: str | None = None,
) -> list[ExceptionOut]:
    """Active exceptions, soonest expiry first (`expiring_within=14d` narrows them)."""
    before = (
        utcnow() + parse_window(expiring_within, "expiring_within") if expiring_within else None
    )
    found = [
        ExceptionOut(system_id=view.system_id, system_state=view.state.value, exception=exception)
        for view in systems_with_exceptions(session, expiring_before=before, system_id=system)
        for exception in view.exceptions
        if exception.status is WaiverStatus.active and (before is None or exception.until <= before)
    ]
    return sorted(found, key=lambda item: item.exception.until)


@router.post(
    "/policy/apply",
    response_model=PolicyApplied,
    operation_id="applyPolicy",
    summary="Send the current policy to every running system",
    responses=errors(*COMMAND),
)
async def apply_policy(
    service: ServiceDep, principal: Admin, key: IdempotencyKey = None
) -> PolicyApplied:
    """Send the current policy file to every running system: pending deadlines move to it."""
    version, outcome = await service.apply_policy(command_meta(principal.email, key))
    return PolicyApplied(policy=version, systems=outcome)
