"""API tokens: issue (shown once), list, revoke. Admin only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.auth import ADMINS, Principal, TokenCache
from api.deps import SessionDep, require
from api.openapi import READ, errors
from api.schemas import TokenIn, TokenIssued, TokenOut
from db.tokens import issue_token, list_tokens, revoke_token
from domain.errors import InvalidInput, NotFound, Problem

router = APIRouter(prefix="/tokens", tags=["tokens"])
Admin = Annotated[Principal, Depends(require(ADMINS))]


@router.post(
    "",
    status_code=201,
    response_model=TokenIssued,
    operation_id="issueToken",
    summary="Issue an API token (shown once)",
    responses=errors(400, *READ),
)
def issue(body: TokenIn, session: SessionDep, _: Admin) -> TokenIssued:
    """Issue a token; its value is in this response only."""
    try:
        row, token = issue_token(
            session, principal=body.principal, role=body.role, label=body.label
        )
    except ValueError as exc:
        field = "role" if "role" in str(exc) else "principal"
        raise InvalidInput(str(exc), [Problem(field, str(exc))]) from None
    issued = TokenIssued.model_validate({**row.model_dump(), "token": token})
    session.commit()
    return issued


@router.get(
    "",
    response_model=list[TokenOut],
    operation_id="listTokens",
    summary="List API tokens",
    responses=errors(*READ),
)
def list_all(session: SessionDep, _: Admin) -> list[TokenOut]:
    """Every token's public record."""
    return [TokenOut.model_validate(row.model_dump()) for row in list_tokens(session)]


@router.delete(
    "/{token_id}",
    status_code=204,
    operation_id="revokeToken",
    summary="Revoke an API token",
    responses=errors(*READ, 404),
)
def revoke(token_id: str, request: Request, session: SessionDep, _: Admin) -> None:
    """Revoke a token at once."""
    if not revoke_token(session, token_id=token_id):
        raise NotFound(f"token {token_id} not found or already revoked")
    session.commit()
    tokens: TokenCache = request.app.state.tokens
    tokens.forget()
