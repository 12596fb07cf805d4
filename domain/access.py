"""API access rules: token lifetimes, the last admin, the audit chain of the door."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.errors import Conflict, InvalidInput, Problem

SECURITY_CHAIN = "threshold:security"
"""The audit chain of access events (a colon: no system id can collide with it)."""


def token_expiry(
    role: str,
    requested: timedelta | None,
    now: datetime,
    *,
    default_days: int,
    max_days: int,
) -> datetime | None:
    """When a new token expires: as requested (within the maximum), else the role's default.

    Non-admin tokens expire after `default_days` unless asked otherwise; an admin token without
    `expires` never expires (the bootstrap token of `threshold up`), one with it is capped too.
    """
    if requested is None:
        return None if role == "admin" else now + timedelta(days=default_days)
    if requested <= timedelta(0) or requested > timedelta(days=max_days):
        raise InvalidInput(
            f"expires must be more than 0 and at most {max_days} days",
            [Problem("expires", f"give a lifetime such as 30d, up to {max_days}d")],
        )
    return now + requested


def refuse_last_admin(role: str, live_admins: int) -> None:
    """Refuse to revoke the only admin token that still works (409 naming why)."""
    if role == "admin" and live_admins <= 1:
        raise Conflict(
            "this is the last active admin token: revoking it would leave no one able to "
            "issue or revoke tokens",
            [Problem("token_id", "issue another admin token first, then revoke this one")],
        )
