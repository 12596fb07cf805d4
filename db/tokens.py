"""API bearer tokens: issued once in plaintext, stored as SHA-256, checked in constant time.

A token may expire (`expires_at`); an expired or revoked token authenticates nothing. An issue
carrying an idempotency key stores the key's digest, so a repeat finds the first token instead
of creating a second one (the value itself is never stored, so it cannot be shown again).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlmodel import Session, col

from db.tables import TokenRow, utcnow

ROLES = ("admin", "approver", "emitter", "viewer")
PREFIX = "thr"
LAST_USED_RESOLUTION = timedelta(minutes=1)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TOKEN = re.compile(rf"^{PREFIX}_([0-9a-f]{{12}})_[A-Za-z0-9_-]{{20,}}$")


def token_digest(token: str) -> str:
    """The stored form of a token: SHA-256 hex of the whole token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _check(principal: str, role: str) -> str:
    """Validate the role and principal; return the principal lower-cased."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not allowed: use one of {', '.join(ROLES)}")
    who = principal.strip().lower()
    if not _EMAIL.match(who):
        raise ValueError(f"principal {principal!r} is not an email address: give name@domain")
    return who


def key_digest(issuer: str, key: str) -> str:
    """The stored form of an issue's idempotency key, scoped to the admin who sent it."""
    return hashlib.sha256(f"{issuer}\n{key}".encode()).hexdigest()


def issue_token(
    session: Session,
    *,
    principal: str,
    role: str,
    label: str = "",
    expires_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> tuple[TokenRow, str]:
    """Create a token; the plaintext is returned only here and never stored (no commit).

    `idempotency_key` is the already-scoped digest (`key_digest`) of the issuing request.
    """
    who = _check(principal, role)
    token_id = secrets.token_hex(6)
    plaintext = f"{PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
    row = TokenRow(
        id=token_id,
        principal=who,
        role=role,
        token_hash=token_digest(plaintext),
        label=label,
        created_at=utcnow(),
        expires_at=expires_at,
        idempotency_key=idempotency_key,
    )
    session.add(row)
    session.flush()
    return row, plaintext


def verify_token(session: Session, *, token: str) -> TokenRow | None:
    """The live token a bearer string stands for, or None (marks use at most once a minute)."""
    match = _TOKEN.match(token.strip())
    if match is None:
        return None
    row = session.get(TokenRow, match.group(1))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.token_hash, token_digest(token.strip())):
        return None
    now = utcnow()
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
        session.add(row)
        session.flush()
    return row


def token_id_of(token: str) -> str | None:
    """The public id inside a well-formed bearer string (what throttling keys on), or None."""
    match = _TOKEN.match(token.strip())
    return match.group(1) if match else None


def issued_with(session: Session, *, idempotency_key: str) -> TokenRow | None:
    """The token an earlier issue with this (scoped) idempotency key created, if any."""
    query = select(TokenRow).where(col(TokenRow.idempotency_key) == idempotency_key)
    return session.execute(query).scalars().first()


def live_admins(session: Session) -> int:
    """How many admin tokens still authenticate (neither revoked nor expired)."""
    now = utcnow()
    expires = col(TokenRow.expires_at)
    query = select(func.count()).where(
        col(TokenRow.role) == "admin",
        col(TokenRow.revoked_at).is_(None),
        or_(expires.is_(None), expires > now),
    )
    return int(session.execute(query).scalar_one())


def revoke_token(session: Session, *, token_id: str) -> bool:
    """Revoke a token by its public id; False when unknown or already revoked (no commit)."""
    row = session.get(TokenRow, token_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    session.add(row)
    session.flush()
    return True


def list_tokens(session: Session) -> list[TokenRow]:
    """Every token, newest first (the hash is hidden from repr and model_dump)."""
    query = select(TokenRow).order_by(TokenRow.created_at.desc())  # type: ignore[attr-defined]
    return list(session.execute(query).scalars())
