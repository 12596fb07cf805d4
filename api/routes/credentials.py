"""Credentials (non-human identities): inventory, dormancy, add, rotate, revoke."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from api.auth import READERS, WRITERS, Principal
from api.deps import (
    CredentialIdPath,
    IdempotencyKey,
    ServiceDep,
    SessionDep,
    SettingsDep,
    SystemIdPath,
    require,
)
from api.documents import read_document
from api.openapi import COMMAND, CREDENTIAL_EXAMPLE, READ, errors, request_body
from api.schemas import CommandOut, CredentialOut, DormancyOut, RevokeIn
from api.service import command_meta
from core.policy import load_policy
from db.dormancy import dormancy
from db.queries import credential_inventory
from domain.errors import InvalidInput, Problem
from domain.events import CredentialAction, CredentialChange
from domain.manifest import Credential, parse_credential
from domain.secrets import refuse_secrets

router = APIRouter(tags=["credentials"])
Reader = Annotated[Principal, Depends(require(READERS))]
Writer = Annotated[Principal, Depends(require(WRITERS))]


@router.get(
    "/credentials",
    response_model=list[CredentialOut],
    operation_id="listCredentials",
    summary="Credential inventory with gaps and sharing",
    responses=errors(*READ),
)
def inventory(
    session: SessionDep,
    _: Reader,
    system: str | None = None,
    environment: str | None = None,
    credential: str | None = None,
) -> list[dict[str, Any]]:
    """Every credential of every system (or one), with its gaps (OWASP NHI ids) and sharing."""
    return credential_inventory(
        session, system_id=system, environment=environment, credential_id=credential
    )


@router.get(
    "/dormancy",
    response_model=DormancyOut,
    operation_id="listDormant",
    summary="Credentials and systems with no recorded action for N days",
    responses=errors(400, *READ),
)
def dormant(
    session: SessionDep,
    settings: SettingsDep,
    _: Reader,
    days: Annotated[
        int | None,
        Query(ge=1, le=3650, description="Days idle (default: policy credentials.dormancy_days)."),
    ] = None,
    system: str | None = None,
    environment: Annotated[str | None, Query(pattern="^(pilot|production)$")] = None,
) -> DormancyOut:
    """Pilot and production credentials and systems idle for `days`; production ones are findings."""
    bound = days if days is not None else load_policy(settings).credentials.dormancy_days
    found = dormancy(
        session, now=datetime.now(UTC), days=bound, system_id=system, environment=environment
    )
    return DormancyOut(
        days=bound,
        credentials=[d for d in found if d.credential_id is not None],
        systems=[d for d in found if d.credential_id is None],
    )


@router.post(
    "/systems/{system_id}/credentials",
    status_code=202,
    response_model=CommandOut,
    operation_id="addCredential",
    summary="Bind a credential to a system",
    responses=errors(*COMMAND),
    openapi_extra=request_body(Credential, CREDENTIAL_EXAMPLE, yaml_too=True),
)
async def add(
    system_id: SystemIdPath,
    request: Request,
    service: ServiceDep,
    principal: Writer,
    key: IdempotencyKey = None,
) -> CommandOut:
    """Bind a credential (a vault reference, never the secret); production: a scope change."""
    credential = parse_credential(await read_document(request))
    change = CredentialChange(action=CredentialAction.added, credential=credential)
    meta = command_meta(principal.email, key)
    return CommandOut.of(await service.credential_change(system_id, change, meta))


@router.put(
    "/systems/{system_id}/credentials/{credential_id}",
    status_code=202,
    response_model=CommandOut,
    operation_id="rotateCredential",
    summary="Record a credential rotation",
    responses=errors(*COMMAND),
    openapi_extra=request_body(Credential, CREDENTIAL_EXAMPLE, yaml_too=True),
)
async def rotate(
    system_id: SystemIdPath,
    credential_id: CredentialIdPath,
    request: Request,
    service: ServiceDep,
    principal: Writer,
    key: IdempotencyKey = None,
) -> CommandOut:
    """Record a rotation: the credential as it is now (new expiry, reference, rotation time)."""
    refuse_secrets({"credential_id": credential_id})
    credential = parse_credential(await read_document(request))
    if credential.id != credential_id:
        raise InvalidInput(
            f"credential id {credential.id!r} does not match the URL's {credential_id!r}",
            [Problem("id", f"set id: {credential_id}")],
        )
    change = CredentialChange(action=CredentialAction.rotated, credential=credential)
    meta = command_meta(principal.email, key)
    return CommandOut.of(await service.credential_change(system_id, change, meta))


@router.post(
    "/systems/{system_id}/credentials/{credential_id}/revoke",
    status_code=202,
    response_model=CommandOut,
    operation_id="revokeCredential",
    summary="Unbind a credential and hand it to the revoker",
    responses=errors(*COMMAND),
)
async def revoke(
    system_id: SystemIdPath,
    credential_id: CredentialIdPath,
    body: RevokeIn,
    service: ServiceDep,
    principal: Writer,
    key: IdempotencyKey = None,
) -> CommandOut:
    """Unbind a credential and hand it to the revoker (audited: credential_revoked)."""
    refuse_secrets({"credential_id": credential_id})
    change = CredentialChange(action=CredentialAction.removed, credential_id=credential_id)
    meta = command_meta(principal.email, key)
    return CommandOut.of(await service.credential_change(system_id, change, meta))
