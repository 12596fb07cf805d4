"""Dashboard sign-in: the token in an HttpOnly cookie, and CSRF tokens derived from it.

The cookie holds the Threshold token itself (HttpOnly, SameSite=Strict, Secure over https),
so every page is checked against the token table like an API call: revocation takes effect
within the token cache's few seconds, and any API replica can serve any page. The CSRF token
of a session is an HMAC of a fixed label keyed by that token: only a holder of the cookie can
compute it, it needs no server state, and it changes with each sign-in. Before sign-in, the
form is protected by a random double-submit cookie.

With single sign-on configured (api/oidc.py), the session is instead a signed cookie naming the
IdP's principal and role, and expiring `THRESHOLD_OIDC__SESSION_HOURS` after sign-in; its CSRF
token is derived from that cookie in the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from api.auth import DECIDERS, Principal, TokenCache

SESSION_COOKIE = "threshold_session"
PRESIGN_COOKIE = "threshold_presign"
SSO_COOKIE = "threshold_sso"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Session:
    """A signed-in principal and its CSRF token."""

    principal: Principal
    csrf: str
    sso: bool = False

    @property
    def can_decide(self) -> bool:
        """Whether this principal's role may approve or reject."""
        return self.principal.role in DECIDERS


def csrf_for(secret: str) -> str:
    """The CSRF token bound to a session (or pre-sign-in) secret."""
    return hmac.new(secret.encode(), b"threshold-dashboard-csrf", hashlib.sha256).hexdigest()


def current(request: Request) -> Session | None:
    """The session of a request whose cookie holds a valid token or SSO session, else None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return _sso(request)
    tokens: TokenCache = request.app.state.tokens
    principal = tokens.principal(token)
    if principal is None:
        return None
    return Session(principal=principal, csrf=csrf_for(token))


def _sso(request: Request) -> Session | None:
    """The single sign-on session of a request, when SSO is on and its cookie is live."""
    oidc = getattr(request.app.state, "oidc", None)
    value = request.cookies.get(SSO_COOKIE)
    if oidc is None or not value:
        return None
    principal: Principal | None = oidc.principal(value)
    if principal is None:
        return None
    return Session(principal=principal, csrf=csrf_for(value), sso=True)


def csrf_ok(expected: str, sent: object) -> bool:
    """Constant-time comparison of a submitted CSRF token."""
    return isinstance(sent, str) and hmac.compare_digest(expected, sent)


def secure(request: Request) -> bool:
    """Mark cookies Secure when the page was served over https (directly or via a proxy)."""
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.lower() == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, age: int) -> None:
    """Set an HttpOnly, SameSite=Strict cookie (Secure over https)."""
    response.set_cookie(
        name,
        value,
        max_age=age,
        httponly=True,
        samesite="strict",
        secure=secure(request),
        path="/",
    )


def presign_secret(request: Request) -> str:
    """The pre-sign-in double-submit secret from the cookie, or a fresh one."""
    return request.cookies.get(PRESIGN_COOKIE) or secrets.token_urlsafe(32)
