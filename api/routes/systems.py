"""Systems: register, amend, list, show, promote, gate, retire."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api.auth import ADMINS, DECIDERS, READERS, WRITERS, ApiRole, Principal
from api.deps import IdempotencyKey, Offset, ServiceDep, SessionDep, SystemIdPath, require
from api.documents import read_document
from api.openapi import COMMAND, MANIFEST_EXAMPLE, READ, errors, request_body
from api.schemas import (
    CommandOut,
    ContainIn,
    DecisionOut,
    ExceptionIn,
    Page,
    PromotionIn,
    RecertifyIn,
    ReleaseIn,
    RetireIn,
    RevokeIn,
    SystemSummary,
)
from api.service import command_meta
from db.history import entries_until
from db.projection import list_systems
from db.tables import utcnow
from domain.contracts import SystemView
from domain.errors import InvalidInput, Problem
from domain.lifecycle import GateResult, Scope
from domain.manifest import AISystemManifest, Environment, parse_manifest
from domain.pointintime import SystemAt, parse_at, system_at
from domain.recertification import parse_window

router = APIRouter(prefix="/systems", tags=["systems"])
Reader = Annotated[Principal, Depends(require(READERS))]
Writer = Annotated[Principal, Depends(require(WRITERS))]
Admin = Annotated[Principal, Depends(require(ADMINS))]
Decider = Annotated[Principal, Depends(require(DECIDERS))]


@router.post(
    "",
    status_code=201,
    response_model=CommandOut,
    operation_id="registerSystem",
    summary="Register a system from its manifest",
    responses=errors(400, 401, 403, 409, 422, 503),
    openapi_extra=request_body(AISystemManifest, MANIFEST_EXAMPLE, yaml_too=True),
)
async def register_system(
    request: Request, service: ServiceDep, principal: Writer, key: IdempotencyKey = None
) -> CommandOut:
    """Register a system from its manifest (JSON, or YAML with Content-Type: application/yaml)."""
    manifest = parse_manifest(await read_document(request))
    result = await service.register(manifest, command_meta(principal.email, key))
    return CommandOut.of(result)


@router.put(
    "/{system_id}/manifest",
    response_model=CommandOut,
    operation_id="amendManifest",
    summary="Replace the manifest of a system in pilot",
    responses=errors(*COMMAND),
    openapi_extra=request_body(AISystemManifest, MANIFEST_EXAMPLE, yaml_too=True),
)
async def amend_system(
    system_id: SystemIdPath,
    request: Request,
    service: ServiceDep,
    principal: Writer,
    key: IdempotencyKey = None,
) -> CommandOut:
    """Replace the manifest of a system still in pilot."""
    manifest = parse_manifest(await read_document(request))
    if manifest.id != system_id:
        raise InvalidInput(
            f"manifest id {manifest.id!r} does not match the URL's {system_id!r}",
            [Problem("id", f"set id: {system_id}")],
        )
    result = await service.amend(manifest, command_meta(principal.email, key))
    return CommandOut.of(result)


@router.get(
    "",
    response_model=Page[SystemSummary],
    operation_id="listSystems",
    summary="List systems, filtered and paged",
    responses=errors(*READ),
)
def list_all(
    session: SessionDep,
    _: Reader,
    state: str | None = None,
    tier: str | None = None,
    owner: str | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    overdue: bool = False,
    due_within: Annotated[str | None, Query(max_length=20, description="e.g. 30d, 2w")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Page[SystemSummary]:
    """Systems from the projection, filtered and paged.

    `overdue=true`: recertification overdue; `due_within=30d`: recertification due within."""
    due_before = utcnow() + parse_window(due_within, "due_within") if due_within else None
    rows, total = list_systems(
        session,
        state=state,
        risk_tier=tier,
        owner=owner,
        search=q,
        overdue=overdue,
        due_before=due_before,
        limit=limit,
        offset=offset,
    )
    items = [SystemSummary.model_validate(row, from_attributes=True) for row in rows]
    return Page[SystemSummary](items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/{system_id}",
    response_model=SystemView | SystemAt,
    operation_id="getSystem",
    summary="Show a system's live state, or what was approved at a past moment",
    responses=errors(*READ, 404, 503),
)
async def show(
    system_id: SystemIdPath,
    service: ServiceDep,
    session: SessionDep,
    _: Reader,
    at: Annotated[
        str | None,
        Query(max_length=64, description="ISO 8601: answer what was approved at that moment."),
    ] = None,
) -> SystemView | SystemAt:
    """The system's live state: lifecycle, manifests, requirements, gaps, pending request.

    With `at`, what the audit ledger shows was approved then, by whom, with which credentials."""
    if at is not None:
        moment = parse_at(at)
        return system_at(system_id, moment, entries_until(session, system_id=system_id, at=moment))
    return await service.view(system_id)


@router.post(
    "/{system_id}/promotion",
    status_code=202,
    response_model=CommandOut,
    operation_id="requestPromotion",
    summary="Request promotion to production",
    responses=errors(*COMMAND),
)
async def request_promotion(
    system_id: SystemIdPath,
    body: PromotionIn,
    service: ServiceDep,
    principal: Writer,
    key: IdempotencyKey = None,
) -> CommandOut:
    """Request promotion to production; refused with every blocking gap listed."""
    result = await service.request_promotion(
        system_id, command_meta(principal.email, key), body.comment
    )
    return CommandOut.of(result)


@router.get(
    "/{system_id}/gate",
    response_model=GateResult,
    operation_id="checkGate",
    summary="May the system deploy to an environment now?",
    responses=errors(*READ, 404, 503),
)
async def gate(
    system_id: SystemIdPath,
    service: ServiceDep,
    _: Reader,
    environment: Environment = Environment.production,
    scope: Scope = Scope.approved,
) -> GateResult:
    """May the system deploy to `environment` now? `allowed` plus the reasons.

    `scope=declared` asks about the repository's manifest: denied while a material change
    awaits revalidation or after it was rejected (the reasons say what to roll back)."""
    if scope is Scope.declared:
        return await service.gate_declared(system_id, environment)
    return await service.gate(system_id, environment)


@router.post(
    "/{system_id}/retire",
    response_model=CommandOut,
    operation_id="retireSystem",
    summary="Retire a system",
    responses=errors(*COMMAND),
)
async def retire(
    system_id: SystemIdPath,
    body: RetireIn,
    service: ServiceDep,
    principal: Admin,
    key: IdempotencyKey = None,
) -> CommandOut:
    """Retire a system: every gate closes for good."""
    result = await service.retire(system_id, command_meta(principal.email, key), body.reason)
    return CommandOut.of(result)


@router.post(
    "/{system_id}/recertification",
    response_model=DecisionOut,
    operation_id="recertifySystem",
    summary="Attest (or refuse) a system's recertification",
    responses=errors(*COMMAND),
)
async def recertify(
    system_id: SystemIdPath,
    body: RecertifyIn,
    service: ServiceDep,
    principal: Decider,
    key: IdempotencyKey = None,
) -> DecisionOut:
    """Attest the recertification checklist as an owner (or security): approve, or refuse."""
    result = await service.recertify(
        system_id, command_meta(principal.email, key), body.approve, body.comment
    )
    return DecisionOut(command_id=result.command_id, message=result.message, request=result.request)


@router.post(
    "/{system_id}/exceptions",
    status_code=202,
    response_model=CommandOut,
    operation_id="requestException",
    summary="Ask security to waive one gap until a date",
    responses=errors(*COMMAND),
)
async def request_exception(
    system_id: SystemIdPath,
    body: ExceptionIn,
    service: ServiceDep,
    principal: Writer,
    key: IdempotencyKey = None,
) -> CommandOut:
    """Ask security to waive one gap until a date (policy `exceptions.max_days` caps it)."""
    result = await service.request_exception(
        system_id, command_meta(principal.email, key), body.gap, body.until, body.reason
    )
    return CommandOut.of(result)


@router.post(
    "/{system_id}/exceptions/{ref}/revoke",
    response_model=CommandOut,
    operation_id="revokeException",
    summary="End an exception early",
    responses=errors(*COMMAND),
)
async def revoke_exception(
    system_id: SystemIdPath,
    ref: str,
    body: RevokeIn,
    service: ServiceDep,
    principal: Writer,
    key: IdempotencyKey = None,
) -> CommandOut:
    """End an exception (by request id or gap) early: security, its requester, or an admin."""
    result = await service.revoke_exception(
        system_id,
        ref,
        command_meta(principal.email, key),
        body.reason,
        principal.role is ApiRole.admin,
    )
    return CommandOut.of(result)


@router.post(
    "/{system_id}/contain",
    response_model=CommandOut,
    operation_id="containSystem",
    summary="Contain a system now",
    responses=errors(*COMMAND),
)
async def contain(
    system_id: SystemIdPath,
    body: ContainIn,
    service: ServiceDep,
    principal: Admin,
    key: IdempotencyKey = None,
) -> CommandOut:
    """Contain a system now: every gate closes, credentials go to the revoker, a ticket opens."""
    result = await service.contain(system_id, command_meta(principal.email, key), body.reason)
    return CommandOut.of(result)


@router.post(
    "/{system_id}/release",
    status_code=202,
    response_model=CommandOut,
    operation_id="requestRelease",
    summary="Ask to release a contained system",
    responses=errors(*COMMAND),
)
async def release(
    system_id: SystemIdPath,
    body: ReleaseIn,
    service: ServiceDep,
    principal: Writer,
    key: IdempotencyKey = None,
) -> CommandOut:
    """Ask security and the owners to release a contained system (an approval request)."""
    result = await service.release(system_id, command_meta(principal.email, key), body.comment)
    return CommandOut.of(result)
