"""Authorize before acting: a runtime asks before a tool call, write or privileged action."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from api.auth import DECIDERS, WRITERS, Principal
from api.authorizer import Authorizer, Pending
from api.deps import require
from api.openapi import errors
from domain.authorize import AuthorizeRequest, RuntimeDecision, Verdict
from domain.errors import Forbidden, NotFound, Problem

router = APIRouter(tags=["authorize"])
Writer = Annotated[Principal, Depends(require(WRITERS))]
Decider = Annotated[Principal, Depends(require(DECIDERS))]
ApprovalId = Annotated[str, Path(pattern=r"^jit-[0-9a-f]{16}$", description="The approval id.")]


class AuthorizeOut(BaseModel):
    """The decision on one action."""

    decision: RuntimeDecision
    reasons: list[str]
    codes: list[str] = Field(default_factory=list, description="The finding codes that decided.")
    system: str
    version: int = Field(description="The approved version (projection version) that decided.")
    state: str
    approval_id: str | None = Field(
        default=None, description="require_approval: long-poll GET /authorize/{approval_id}."
    )
    expires_at: str | None = None
    decided_by: str | None = None


class AuthorizationDecisionIn(BaseModel):
    """A human's decision on a just-in-time approval."""

    approve: bool
    comment: str = Field(default="", max_length=2000)


def _authorizer(request: Request) -> Authorizer:
    authorizer: Authorizer = request.app.state.authorizer
    return authorizer


AuthorizerDep = Annotated[Authorizer, Depends(_authorizer)]


def _out(system: str, verdict: Verdict, pending: Pending | None = None) -> AuthorizeOut:
    return AuthorizeOut(
        decision=verdict.decision,
        reasons=verdict.reasons,
        codes=verdict.codes,
        system=system,
        version=verdict.version,
        state=verdict.state,
        approval_id=pending.id if pending else None,
        expires_at=pending.expires_at.isoformat() if pending else None,
        decided_by=pending.decided_by if pending else None,
    )


def _pending(authorizer: Authorizer, approval_id: str) -> Pending:
    pending = authorizer.pending.get(approval_id)
    if pending is None:
        raise NotFound(
            f"no approval {approval_id} in this API process",
            [Problem("approval_id", "use the approval_id that POST /authorize answered")],
        )
    return pending


@router.post(
    "/authorize",
    response_model=AuthorizeOut,
    operation_id="authorizeAction",
    summary="Ask whether an AI system may take an action now (allow, deny, require_approval)",
    responses=errors(400, 401, 403, 404, 422, 429),
)
def authorize(body: AuthorizeRequest, authorizer: AuthorizerDep, who: Writer) -> AuthorizeOut:
    """Decide from the in-memory snapshot of the system's approved scope (no database call)."""
    try:
        verdict, approval_id = authorizer.authorize(body, who.email)
    except KeyError:
        raise NotFound(
            f"unknown system {body.system}",
            [Problem("system", f"{body.system} is not registered (or not yet seen here)")],
        ) from None
    pending = authorizer.pending.get(approval_id) if approval_id else None
    return _out(body.system, verdict, pending)


@router.get(
    "/authorize/{approval_id}",
    response_model=AuthorizeOut,
    operation_id="awaitAuthorization",
    summary="Long-poll a just-in-time approval for its final decision",
    responses=errors(401, 403, 404, 422),
)
async def await_authorization(
    approval_id: ApprovalId,
    authorizer: AuthorizerDep,
    _: Writer,
    wait: Annotated[float, Query(ge=0, le=60, description="Seconds to wait for a decision.")] = 0,
) -> AuthorizeOut:
    """The approval's decision: require_approval while open, then allow or deny."""
    pending = _pending(authorizer, approval_id)
    pending = await authorizer.wait(approval_id, wait)
    return _out(pending.request.system, pending.final or pending.verdict, pending)


@router.post(
    "/authorize/{approval_id}/decision",
    response_model=AuthorizeOut,
    operation_id="decideAuthorization",
    summary="Approve or reject a just-in-time approval (never the principal who asked)",
    responses=errors(400, 401, 403, 404, 422, 429),
)
def decide_authorization(
    approval_id: ApprovalId, body: AuthorizationDecisionIn, authorizer: AuthorizerDep, who: Decider
) -> AuthorizeOut:
    """Decide a pending approval; the waiting runtime's long poll answers at once."""
    _pending(authorizer, approval_id)
    try:
        pending = authorizer.decide_pending(approval_id, who.email, body.approve)
    except PermissionError:
        raise Forbidden(
            "no self-approval: the principal who asked may not decide",
            [Problem("approval_id", "another approver must decide")],
        ) from None
    except KeyError:
        raise NotFound(
            f"system of {approval_id} no longer known",
            [Problem("approval_id", "ask again with POST /authorize")],
        ) from None
    return _out(pending.request.system, pending.final or pending.verdict, pending)
