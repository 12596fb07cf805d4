"""FastAPI dependencies as `Annotated` aliases: settings, engine, service, principal."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Query, Request
from sqlalchemy import Engine
from sqlmodel import Session

from api.auth import ApiRole, Principal, TokenCache
from api.service import GovernanceService
from api.throttle import Guard, door_keys
from core.settings import Settings
from domain.manifest import SYSTEM_ID_PATTERN

# The small dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in the
# thread pool, a thread hop per dependency per request for what is an attribute read.


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def _service(request: Request) -> GovernanceService:
    service: GovernanceService = request.app.state.service
    return service


def _session(engine: Annotated[Engine, Depends(_engine)]) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def too_many(seconds: int, message: str) -> HTTPException:
    """A 429 with Retry-After."""
    return HTTPException(429, message, headers={"Retry-After": str(seconds)})


async def _verified(request: Request, token: str) -> Principal:
    """A token checked against the database, behind the failed-authentication throttle."""
    guard: Guard = request.app.state.guard
    keys = door_keys(request, token)
    wait = guard.failures.retry_after(keys)
    if wait is not None:
        raise too_many(wait, f"too many failed tokens ({', '.join(keys)}): retry in {wait} s")
    tokens: TokenCache = request.app.state.tokens
    principal = await asyncio.to_thread(tokens.principal, token)
    if principal is None:
        for key, failures in guard.failures.failed(keys):
            await asyncio.to_thread(guard.audit_burst, key, failures)
        raise HTTPException(
            401, "unknown, expired or revoked token", headers={"WWW-Authenticate": "Bearer"}
        )
    return principal


async def _principal(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(
            401,
            "missing bearer token: send 'Authorization: Bearer <token>' "
            "(issue one with `threshold tokens issue`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    tokens: TokenCache = request.app.state.tokens
    token = token.strip()
    # A cached token is a dict lookup; only a miss reads the database, in a worker thread.
    principal = tokens.cached(token) or await _verified(request, token)
    if request.method not in SAFE_METHODS:
        guard: Guard = request.app.state.guard
        wait = guard.writes.take(principal.token_id)
        if wait is not None:
            raise too_many(
                wait, f"write rate limit of token {principal.token_id}: retry in {wait} s"
            )
    return principal


SettingsDep = Annotated[Settings, Depends(_settings)]
EngineDep = Annotated[Engine, Depends(_engine)]
SessionDep = Annotated[Session, Depends(_session)]
ServiceDep = Annotated[GovernanceService, Depends(_service)]
PrincipalDep = Annotated[Principal, Depends(_principal)]
MAX_OFFSET = 1_000_000_000
SystemIdPath = Annotated[
    str,
    Path(pattern=SYSTEM_ID_PATTERN, description="Lower-case letters, digits and '-', 3-64 long"),
]
RequestIdPath = Annotated[str, Path(min_length=1, max_length=200)]
CredentialIdPath = Annotated[str, Path(min_length=1, max_length=128)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


def require(roles: frozenset[ApiRole]) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that refuses principals whose token role is not in `roles`."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            allowed = " or ".join(sorted(r.value for r in roles))
            raise HTTPException(
                403,
                f"this needs a token with role {allowed}; {principal.email}'s token has role "
                f"{principal.role.value}",
            )
        return principal

    return check
