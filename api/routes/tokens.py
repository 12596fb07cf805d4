"""API tokens: issue (shown once), list, revoke. Admin only.

`POST /tokens` honours `Idempotency-Key`: a repeat answers 200 with the first token's record
and `token: null` (the value is shown at first issue only and never stored); the same key with
a different principal, role or label is a 409. The last active admin token cannot be revoked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from api.auth import ADMINS, Principal, TokenCache
from api.deps import IdempotencyKey, SessionDep, SettingsDep, require
from api.openapi import READ, errors
from api.schemas import TokenIn, TokenIssued, TokenOut
from db.tables import TokenRow, utcnow
from db.tokens import (
    issue_token,
    issued_with,
    key_digest,
    list_tokens,
    live_admins,
    revoke_token,
)
from domain.access import refuse_last_admin, token_expiry
from domain.errors import Conflict, InvalidInput, NotFound, Problem
from domain.recertification import parse_window

router = APIRouter(prefix="/tokens", tags=["tokens"])
Admin = Annotated[Principal, Depends(require(ADMINS))]
TokenId = Annotated[str, Path(min_length=1, max_length=64)]
SHOWN_ONCE = "this key already issued token {id}; its value is shown only at first issue"


def _repeat(row: TokenRow, body: TokenIn) -> TokenIssued:
    """The answer to a repeated issue: the first token's record, without a value."""
    if (row.principal, row.role, row.label) != (
        body.principal.strip().lower(),
        body.role,
        body.label,
    ):
        raise Conflict(
            "this Idempotency-Key was used for a different token",
            [Problem("Idempotency-Key", "send a new key for a new token")],
        )
    record = TokenOut.model_validate(row.model_dump()).model_dump()
    return TokenIssued(**record, token=None, repeat=True, message=SHOWN_ONCE.format(id=row.id))


@router.post(
    "",
    status_code=201,
    response_model=TokenIssued,
    operation_id="issueToken",
    summary="Issue an API token (shown once)",
    responses=errors(400, *READ),
)
def issue(
    body: TokenIn,
    session: SessionDep,
    settings: SettingsDep,
    admin: Admin,
    response: Response,
    key: IdempotencyKey = None,
) -> TokenIssued:
    """Issue a token; its value is in this response only (a repeat with the same key: 200)."""
    digest = key_digest(admin.email, key) if key else None
    if digest is not None and (first := issued_with(session, idempotency_key=digest)):
        response.status_code = 200
        return _repeat(first, body)
    requested = parse_window(body.expires, "expires") if body.expires else None
    expires_at = token_expiry(
        body.role,
        requested,
        utcnow(),
        default_days=settings.api.token_default_days,
        max_days=settings.api.token_max_days,
    )
    try:
        row, token = issue_token(
            session,
            principal=body.principal,
            role=body.role,
            label=body.label,
            expires_at=expires_at,
            idempotency_key=digest,
        )
        issued = TokenIssued.model_validate({**row.model_dump(), "token": token})
        session.commit()
    except ValueError as exc:
        field = "role" if "role" in str(exc) else "principal"
        raise InvalidInput(str(exc), [Problem(field, str(exc))]) from None
    except IntegrityError:  # the same key issued concurrently: answer as a repeat
        return _raced(session, digest, body, response)
    return issued


def _raced(session: Session, digest: str | None, body: TokenIn, response: Response) -> TokenIssued:
    """A concurrent issue with the same key won the insert: answer with its token."""
    session.rollback()
    first = issued_with(session, idempotency_key=digest) if digest else None
    if first is None:
        raise Conflict("the token could not be issued; retry")
    response.status_code = 200
    return _repeat(first, body)


@router.get(
    "",
    response_model=list[TokenOut],
    operation_id="listTokens",
    summary="List API tokens",
    responses=errors(*READ),
)
def list_all(session: SessionDep, _: Admin) -> list[TokenOut]:
    """Every token's public record, with its expiry and when it was last used."""
    return [TokenOut.model_validate(row.model_dump()) for row in list_tokens(session)]


@router.delete(
    "/{token_id}",
    status_code=204,
    operation_id="revokeToken",
    summary="Revoke an API token",
    responses=errors(*READ, 404, 409),
)
def revoke(token_id: TokenId, request: Request, session: SessionDep, _: Admin) -> None:
    """Revoke a token at once (every API process refuses it within a second)."""
    row = session.get(TokenRow, token_id)
    live = row is not None and row.revoked_at is None
    if live and row is not None and (row.expires_at is None or row.expires_at > utcnow()):
        refuse_last_admin(row.role, live_admins(session))
    if not revoke_token(session, token_id=token_id):
        raise NotFound(f"token {token_id} not found or already revoked")
    session.commit()
    tokens: TokenCache = request.app.state.tokens
    tokens.forget()
