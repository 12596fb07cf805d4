"""Bearer-token authentication and role checks for every API call."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Engine
from sqlmodel import Session

from db.tokens import verify_token


class ApiRole(StrEnum):
    """What a token may do."""

    viewer = "viewer"
    emitter = "emitter"
    approver = "approver"
    admin = "admin"


READERS = frozenset(ApiRole)
WRITERS = frozenset({ApiRole.emitter, ApiRole.approver, ApiRole.admin})
DECIDERS = frozenset({ApiRole.approver, ApiRole.admin})
ADMINS = frozenset({ApiRole.admin})


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: an email and the role its token carries."""

    email: str
    role: ApiRole
    token_id: str


class TokenCache:
    """Verifies tokens against the database, caching hits briefly (revocation lag = ttl)."""

    def __init__(self, engine: Engine, ttl_seconds: float) -> None:
        self._engine = engine
        self._ttl = ttl_seconds
        self._hits: dict[str, tuple[float, Principal]] = {}

    def cached(self, token: str) -> Principal | None:
        """The principal of a token verified less than ttl ago, or None (no database read)."""
        hit = self._hits.get(_key(token))
        if hit and hit[0] > time.monotonic():
            return hit[1]
        return None

    def principal(self, token: str) -> Principal | None:
        """The principal a token belongs to, or None if unknown or revoked."""
        key = _key(token)
        now = time.monotonic()
        hit = self._hits.get(key)
        if hit and hit[0] > now:
            return hit[1]
        with Session(self._engine) as session:
            row = verify_token(session, token=token)
            if row is None:
                self._hits.pop(key, None)
                return None
            principal = Principal(email=row.principal, role=ApiRole(row.role), token_id=row.id)
            session.commit()
        if len(self._hits) > 10_000:
            self._hits.clear()
        self._hits[key] = (now + self._ttl, principal)
        return principal

    def forget(self) -> None:
        """Drop every cached token (after a revocation in this process)."""
        self._hits.clear()


def _key(token: str) -> str:
    """The cache key of a token: its SHA-256, so no token value is kept in memory."""
    return hashlib.sha256(token.encode()).hexdigest()
