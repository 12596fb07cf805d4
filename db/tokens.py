"""API bearer tokens: issued once in plaintext, stored as SHA-256, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

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


def issue_token(
    session: Session, *, principal: str, role: str, label: str = ""
) -> tuple[TokenRow, str]:
    """Create a token; the plaintext is returned only here and never stored (no commit)."""
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
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
        session.add(row)
        session.flush()
    return row


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
