"""Dashboard single sign-on: OpenID Connect (authorization code + PKCE) through Authlib.

The login transaction (state, nonce, PKCE verifier, where to go next) lives in a signed,
HttpOnly, SameSite=Lax cookie for ten minutes: Lax, because the IdP sends the browser back
with a cross-site top-level GET. A signed-in person holds a signed session cookie with their
e-mail, role and sign-in time; it expires `session_hours` after sign-in (checked on every page,
so shortening the setting shortens live sessions). Nothing is kept server-side, so any API
replica serves any page, as long as every replica has the same secret.

The IdP's e-mail claim is the principal (policy `role_groups` and owners are matched by it);
its groups claim picks the dashboard role through `THRESHOLD_OIDC__GROUP_ROLES` (highest wins).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import warnings
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from joserfc.errors import JoseError

from api.auth import ApiRole, Principal
from api.dashboard import session as cookies
from api.dashboard.templating import templates
from core.settings import OidcSettings

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 package and warns (filter "always") when it uses httpx.
    from authlib.deprecate import AuthlibDeprecationWarning

    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.starlette_client import OAuth, OAuthError

try:
    import httpx2  # what Authlib uses when it is installed

    TRANSPORT_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError, httpx2.HTTPError)
except ImportError:
    TRANSPORT_ERRORS = (httpx.HTTPError,)

LOGIN_COOKIE = "threshold_oidc"
SSO_COOKIE = cookies.SSO_COOKIE
LOGIN_SECONDS = 600
CALLBACK = "/oidc/callback"
RANK = [ApiRole.viewer, ApiRole.emitter, ApiRole.approver, ApiRole.admin]
HINT_LIMIT = 2000  # an ID token longer than this is not kept (cookies hold ~4 KB)

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Identity:
    """Who the IdP says signed in, and the dashboard role their groups give."""

    email: str
    role: ApiRole
    groups: tuple[str, ...]
    id_token: str | None = None


class SignInRefused(Exception):
    """The callback cannot sign this person in: an HTTP status and a message for them."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def identity_from_claims(claims: dict[str, Any], settings: OidcSettings) -> Identity:
    """Map the IdP's claims to an identity; refuse (403) without e-mail or mapped group."""
    email = claims.get(settings.email_claim)
    if not isinstance(email, str) or "@" not in email:
        raise SignInRefused(
            403,
            f"The identity provider sent no e-mail address (claim {settings.email_claim!r}); "
            "ask its administrator to release it to Threshold (scope 'email').",
        )
    if claims.get("email_verified") is False:
        raise SignInRefused(403, f"The identity provider has not verified {email}.")
    raw = claims.get(settings.groups_claim) or []
    groups = (raw,) if isinstance(raw, str) else tuple(str(g) for g in raw)
    roles = [ApiRole(settings.group_roles[g]) for g in groups if g in settings.group_roles]
    if not roles and settings.default_role is not None:
        roles = [ApiRole(settings.default_role)]
    if not roles:
        mapped = ", ".join(sorted(settings.group_roles)) or "none configured"
        raise SignInRefused(
            403,
            f"{email} is in none of the groups that give access to Threshold ({mapped}); ask "
            f"your administrator to add you to one (claim {settings.groups_claim!r}).",
        )
    kept = tuple(g for g in groups if g in settings.group_roles)
    return Identity(email=email.strip().lower(), role=max(roles, key=RANK.index), groups=kept)


def _secret(settings: OidcSettings) -> str:
    """The cookie-signing key: the session secret, else one derived from the client secret."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    assert settings.client_secret is not None  # OidcSettings refuses neither being set
    key = settings.client_secret.get_secret_value().encode()
    return hmac.new(key, b"threshold-dashboard-session", hashlib.sha256).hexdigest()


class Oidc:
    """The configured identity provider: sign-in redirects, callbacks, session cookies."""

    def __init__(self, settings: OidcSettings) -> None:
        assert settings.issuer and settings.client_id
        self.settings = settings
        secret = settings.client_secret.get_secret_value() if settings.client_secret else None
        self.client: Any = OAuth().register(
            "idp",
            client_id=settings.client_id,
            client_secret=secret,
            server_metadata_url=f"{settings.issuer.rstrip('/')}/.well-known/openid-configuration",
            client_kwargs={"scope": settings.scopes, "code_challenge_method": "S256"},
        )
        key = _secret(settings)
        self._logins = URLSafeTimedSerializer(key, salt="threshold-oidc-login")
        self._sessions = URLSafeSerializer(key, salt="threshold-sso-session")

    def seal(self, identity: Identity, now: float | None = None) -> str:
        """A session cookie value for an identity signed in at `now`."""
        issued = time.time() if now is None else now
        payload: dict[str, Any] = {
            "e": identity.email,
            "r": identity.role.value,
            "g": list(identity.groups),
        }
        if identity.id_token and len(identity.id_token) <= HINT_LIMIT:
            payload["t"] = identity.id_token  # id_token_hint at sign-out (Okta requires it)
        return self._sessions.dumps(payload | {"iat": int(issued), "sid": secrets.token_hex(6)})

    def _payload(self, value: str) -> dict[str, Any] | None:
        """The signed content of a session cookie, or None when forged or malformed."""
        try:
            payload = self._sessions.loads(value)
        except BadSignature:
            return None
        return payload if isinstance(payload, dict) else None

    def principal(self, value: str) -> Principal | None:
        """The principal of a session cookie still within its lifetime, else None."""
        payload = self._payload(value)
        if payload is None:
            return None
        age = time.time() - float(payload.get("iat", 0))
        if not -60 <= age < self.settings.session_hours * 3600:
            return None
        return Principal(email=payload["e"], role=ApiRole(payload["r"]), token_id=payload["sid"])

    async def begin(self, request: Request, target: str) -> Response:
        """Redirect to the IdP; the transaction goes into the login cookie."""
        request.scope["session"] = {}
        response: Response = await self.client.authorize_redirect(request, _callback_url(request))
        sealed = self._logins.dumps({"session": request.scope["session"], "next": target})
        response.set_cookie(
            LOGIN_COOKIE,
            sealed,
            max_age=LOGIN_SECONDS,
            httponly=True,
            samesite="lax",
            secure=cookies.secure(request),
            path="/",
        )
        return response

    async def finish(self, request: Request) -> tuple[Identity, str]:
        """Check the callback against the login cookie, redeem the code, map the claims."""
        try:
            login = self._logins.loads(request.cookies.get(LOGIN_COOKIE, ""), max_age=LOGIN_SECONDS)
        except BadSignature:
            raise SignInRefused(
                400, "This sign-in was not started here or took over ten minutes; sign in again."
            ) from None
        request.scope["session"] = login["session"]
        claims, id_token = await self._claims(request)
        identity = identity_from_claims(claims, self.settings)
        return replace(identity, id_token=id_token), str(login["next"])

    async def _claims(self, request: Request) -> tuple[dict[str, Any], str | None]:
        """The ID token's claims (validated by Authlib), with userinfo when groups are missing."""
        try:
            token = await self.client.authorize_access_token(request)
            claims = dict(token.get("userinfo") or {})
            if self.settings.groups_claim not in claims:
                claims |= dict(await self.client.userinfo(token=token))
        except OAuthError as exc:
            if exc.error == "mismatching_state":
                message = "The sign-in answer does not match the sign-in started here (state)."
                raise SignInRefused(400, message + " Sign in again.") from None
            raise SignInRefused(400, f"The identity provider refused: {exc.error}.") from None
        except JoseError as exc:
            raise SignInRefused(400, f"The ID token is not valid ({exc.error}).") from None
        except TRANSPORT_ERRORS:
            raise SignInRefused(
                503, "The identity provider could not be reached; try again in a minute."
            ) from None
        return claims, token.get("id_token")

    async def logout_url(self, request: Request) -> str | None:
        """RP-initiated logout at the IdP, when it advertises an end_session_endpoint."""
        try:
            metadata = await self.client.load_server_metadata()
        except TRANSPORT_ERRORS:
            return None
        endpoint = metadata.get("end_session_endpoint")
        if not endpoint:
            return None
        back = _base(request) + "/signin"
        query = {"client_id": self.settings.client_id, "post_logout_redirect_uri": back}
        payload = self._payload(request.cookies.get(SSO_COOKIE, "")) or {}
        if isinstance(payload.get("t"), str):
            query["id_token_hint"] = payload["t"]
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"


def _base(request: Request) -> str:
    """The public base URL (THRESHOLD_API__PUBLIC_URL, else the one the browser used)."""
    settings = request.app.state.settings
    return (settings.api.public_url or str(request.base_url)).rstrip("/")


def _callback_url(request: Request) -> str:
    """The redirect URI registered at the IdP."""
    return _base(request) + CALLBACK


def configured(request: Request) -> Oidc | None:
    """The app's identity provider, or None when single sign-on is off."""
    oidc: Oidc | None = getattr(request.app.state, "oidc", None)
    return oidc


def hop(request: Request, title: str, target: str, link: str) -> HTMLResponse:
    """A page that moves the browser on by itself (meta refresh) to `target`."""
    context = {"title": title, "target": target, "link": link}
    response = templates.TemplateResponse(request, "hop.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


def refusal(request: Request, message: str, status: int) -> HTMLResponse:
    """The error page for a refused sign-in, with a way back to sign-in."""
    context = {"session": None, "csrf": "", "message": message}
    response = templates.TemplateResponse(request, "error.html", context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.get("/oidc/login")
async def login(request: Request, next: str = "/") -> Response:
    """Start single sign-on: redirect to the identity provider."""
    oidc = configured(request)
    if oidc is None:
        return RedirectResponse("/signin", status_code=303)
    try:
        return await oidc.begin(request, _local(next))
    except TRANSPORT_ERRORS:
        message = "The identity provider could not be reached; try again in a minute."
        return refusal(request, message, 503)


@router.get(CALLBACK)
async def callback(request: Request) -> Response:
    """The IdP's answer: on success a session cookie and a same-site hop to the target."""
    oidc = configured(request)
    if oidc is None:
        return refusal(request, "Single sign-on is not configured.", 404)
    try:
        identity, target = await oidc.finish(request)
    except SignInRefused as refused:
        return refusal(request, refused.message, refused.status)
    # A page, not a redirect: a SameSite=Strict cookie set at the end of a cross-site redirect
    # chain is not sent on the next hop, so the browser moves on from this same-site page.
    response = hop(request, "Signed in", _local(target), "Continue to Threshold")
    hours = oidc.settings.session_hours
    cookies.set_cookie(request, response, SSO_COOKIE, oidc.seal(identity), int(hours * 3600))
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


def _local(target: str) -> str:
    """Only same-site paths are followed after sign-in (no open redirect)."""
    safe = target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if safe else "/"
