"""Authorize before acting: a runtime asks before a tool call, write or privileged action."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from api.auth import WRITERS, Principal
from api.authorizer import Approval, ApprovalRefused, Authorizer
from api.deps import IdempotencyKey, RequestIdPath, require
from api.openapi import errors
from api.service import command_meta
from domain.authorize import AuthorizeRequest, RuntimeDecision, Verdict
from domain.errors import NotFound, Problem

router = APIRouter(tags=["authorize"])
Writer = Annotated[Principal, Depends(require(WRITERS))]


class AuthorizeOut(BaseModel):
    """The decision on one action."""

    decision: RuntimeDecision
    reasons: list[str]
    codes: list[str] = Field(default_factory=list, description="The finding codes that decided.")
    system: str
    version: int = Field(description="The approved version (projection version) that decided.")
    state: str
    approval_id: str | None = Field(
        default=None,
        description="require_approval: the approval request; long-poll GET /authorize/{id}.",
    )
    expires_at: str | None = None
    decided_by: list[str] = Field(default_factory=list, description="Who approved.")


def _authorizer(request: Request) -> Authorizer:
    authorizer: Authorizer = request.app.state.authorizer
    return authorizer


AuthorizerDep = Annotated[Authorizer, Depends(_authorizer)]


def _out(system: str, verdict: Verdict, approval: Approval | None = None) -> AuthorizeOut:
    request = approval.request if approval else None
    return AuthorizeOut(
        decision=verdict.decision,
        reasons=verdict.reasons,
        codes=verdict.codes,
        system=system,
        version=verdict.version,
        state=verdict.state,
        approval_id=request.id if request else None,
        expires_at=request.expires_at.isoformat() if request else None,
        decided_by=request.approvers if request else [],
    )


@router.post(
    "/authorize",
    response_model=AuthorizeOut,
    operation_id="authorizeAction",
    summary="Ask whether an AI system may take an action now (allow, deny, require_approval)",
    responses=errors(400, 401, 403, 404, 422, 429, 503),
)
async def authorize(
    body: AuthorizeRequest, authorizer: AuthorizerDep, who: Writer, key: IdempotencyKey = None
) -> AuthorizeOut:
    """Decide from the in-memory snapshot of the system's approved scope (no database call).

    An action a use case puts under human approval opens a just-in-time approval request (one
    per call: an `Idempotency-Key` makes a retried call find its own approval again).
    """
    try:
        verdict = authorizer.authorize(body)
    except KeyError:
        raise NotFound(
            f"unknown system {body.system}",
            [Problem("system", f"{body.system} is not registered (or not yet seen here)")],
        ) from None
    if verdict.decision is not RuntimeDecision.require_approval:
        return _out(body.system, verdict)
    try:
        approval = await authorizer.open_approval(body, verdict, command_meta(who.email, key))
    except ApprovalRefused as refused:
        return _out(body.system, refused.verdict)
    return _out(body.system, approval.verdict, approval)


@router.get(
    "/authorize/{request_id}",
    response_model=AuthorizeOut,
    operation_id="awaitAuthorization",
    summary="Long-poll a just-in-time approval for its final decision",
    responses=errors(401, 403, 404, 422, 503),
)
async def await_authorization(
    request_id: RequestIdPath,
    authorizer: AuthorizerDep,
    _: Writer,
    wait: Annotated[float, Query(ge=0, le=60, description="Seconds to wait for a decision.")] = 0,
) -> AuthorizeOut:
    """require_approval while the approval is open, then allow (re-checked now) or deny."""
    approval = await authorizer.wait(request_id, wait)
    if approval is None:
        raise NotFound(
            f"no action approval {request_id}",
            [Problem("request_id", "use the approval_id that POST /authorize answered")],
        )
    return _out(approval.request.system_id, approval.verdict, approval)
