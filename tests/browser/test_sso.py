"""Dashboard single sign-on against a real OpenID provider (oidc-provider-mock on 127.0.0.1)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import oidc_provider_mock
import pytest
import werkzeug.serving
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from api.auth import ApiRole
from api.oidc import Identity, identity_from_claims
from core.settings import OidcSettings, Settings
from tests.e2e.test_promotion_tour import register_and_request
from tests.harness import BUSINESS, SECURITY, TECH, Stack, make_settings, running_stack, serve_api

pytestmark = pytest.mark.devserver
USERS = {
    "sam": {"email": SECURITY, "email_verified": True, "groups": ["staff", "gov-approvers"]},
    "vera": {"email": "vera.viewer@example.com", "groups": ["gov-viewers"]},
    "max": {"email": "max.marketing@example.com", "groups": ["marketing"]},
    "anon": {"groups": ["gov-approvers"]},
}
GROUP_ROLES: dict[str, Any] = {"gov-approvers": "approver", "gov-viewers": "viewer"}
ELSEWHERE = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")


@pytest.fixture
def idp(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real OpenID provider on a free 127.0.0.1 port (plain http, so Authlib must allow it)."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    users = [oidc_provider_mock.User(sub=sub, claims=claims) for sub, claims in USERS.items()]
    app = oidc_provider_mock.app(require_nonce=True, user_claims=users)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def sso_settings(tmp_path: Path, issuer: str) -> Settings:
    """Stack settings with single sign-on through `issuer`."""
    settings = make_settings(f"sqlite:///{tmp_path}/threshold.db", tmp_path)
    settings.oidc = OidcSettings(
        issuer=issuer,
        client_id="threshold-dashboard",
        client_secret=SecretStr("a-test-client-secret-of-some-length"),
        group_roles=GROUP_ROLES,
    )
    return settings


@asynccontextmanager
async def tab(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping HTTP client on the stack's app (no browser)."""
    transport = httpx.ASGITransport(app=stack.app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://threshold") as http:
        yield http


async def callback_for(http: httpx.AsyncClient, sub: str) -> httpx.URL:
    """Start sign-in, authorise `sub` at the provider, return the callback URL it sends back."""
    started = await http.get("/oidc/login?next=/approvals")
    assert started.status_code == 302, started.text
    authorize = started.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    async with httpx.AsyncClient() as provider:
        answer = await provider.post(authorize, data={"sub": sub})
    assert answer.status_code == 302, answer.text
    return httpx.URL(answer.headers["location"])


async def test_callback_refuses_a_wrong_state_an_unknown_group_and_a_missing_email(
    dev_env: WorkflowEnvironment, tmp_path: Path, idp: str
) -> None:
    """A forged state is 400; a user in no mapped group or without e-mail gets a 403 page that
    says why; no session cookie is set by any of them."""
    async with running_stack(dev_env.client, sso_settings(tmp_path, idp)) as stack:
        async with tab(stack) as http:
            back = await callback_for(http, "sam")
            forged = back.copy_merge_params({"state": "not-the-state-we-sent"})
            refused = await http.get(str(forged))
            assert refused.status_code == 400
            assert "does not match the sign-in started here" in refused.text

        async with tab(stack) as http:
            refused = await http.get(str(await callback_for(http, "max")))
            assert refused.status_code == 403
            assert "max.marketing@example.com is in none of the groups" in refused.text
            assert "gov-approvers" in refused.text
            assert "threshold_sso" not in http.cookies

        async with tab(stack) as http:
            refused = await http.get(str(await callback_for(http, "anon")))
            assert refused.status_code == 403
            assert "sent no e-mail address" in refused.text

        async with tab(stack) as http:
            stray = await http.get(f"/oidc/callback?{urlencode({'code': 'x', 'state': 'y'})}")
            assert stray.status_code == 400
            assert "not started here" in stray.text
            assert (await http.get("/approvals")).status_code == 303


async def test_token_sign_in_is_off_while_sso_is_configured(
    dev_env: WorkflowEnvironment, tmp_path: Path, idp: str
) -> None:
    """With single sign-on configured the sign-in page offers only SSO and refuses a token."""
    async with (
        running_stack(dev_env.client, sso_settings(tmp_path, idp)) as stack,
        tab(stack) as http,
    ):
        page = await http.get("/signin")
        assert "Sign in with single sign-on" in page.text and 'name="token"' not in page.text
        posted = await http.post("/signin", data={"token": stack.tokens[SECURITY]})
        assert posted.status_code == 403


async def test_sso_sign_in_approve_sign_out_and_expiry_in_the_browser(
    dev_env: WorkflowEnvironment, tmp_path: Path, idp: str, chromium: Any
) -> None:
    """Sam signs in at the provider, lands as sam.security@example.com (approver, from the
    gov-approvers group), fills the security role (confirming the production promotion) so the
    system reaches production, signs out through the provider (with an id_token_hint); a viewer
    sees no Approve button; an expired session goes to sign-in."""
    async with (
        running_stack(dev_env.client, sso_settings(tmp_path, idp)) as stack,
        serve_api(stack.app, lifespan="off") as base,  # type: ignore[arg-type]
    ):
        request_id = await register_and_request(stack)
        for owner in (BUSINESS, TECH):
            decided = await stack.call(
                "POST", f"/requests/{request_id}/decisions", owner, json={"approve": True}
            )
            assert decided.status_code == 200, decided.text
        context = await chromium.new_context()
        await context.route(ELSEWHERE, lambda route: route.abort())  # the provider's CDN CSS
        page = await context.new_page()

        await page.goto(f"{base}/approvals")
        await page.get_by_role("link", name="Sign in with single sign-on").click()
        await page.get_by_role("button", name="sam", exact=True).click()
        await page.wait_for_url(f"{base}/approvals")
        assert await page.locator(".who").inner_text() == f"{SECURITY} (approver)"
        await page.get_by_role("button", name=f"Approve {request_id}").click()
        await page.get_by_role("button", name=f"Confirm approval of {request_id}").click()
        await page.get_by_role("status").filter(has_text="Your decision was recorded").wait_for()
        shown = await stack.call("GET", "/systems/support-assistant", BUSINESS)
        assert shown.json()["state"] == "production"

        await page.get_by_role("button", name="Sign out").click()
        end = page.get_by_role("button", name="End session")
        await end.wait_for()
        assert await page.locator("dt code", has_text="id_token_hint").count() == 1
        await end.click()
        await page.wait_for_url(f"{base}/signin")
        await page.goto(f"{base}/approvals")
        assert urlsplit(page.url).path == "/signin"

        await page.get_by_role("link", name="Sign in with single sign-on").click()
        await page.get_by_role("button", name="vera", exact=True).click()
        await page.wait_for_url(f"{base}/approvals")
        assert await page.locator(".who").inner_text() == "vera.viewer@example.com (viewer)"
        assert await page.get_by_role("button", name=re.compile("^Approve ")).count() == 0

        oidc = stack.app.state.oidc  # type: ignore[union-attr]
        identity = Identity(SECURITY, ApiRole.approver, ("gov-approvers",))
        stale = oidc.seal(identity, now=time.time() - 8 * 3600 - 1)
        await context.add_cookies([{"name": "threshold_sso", "value": stale, "url": base}])
        await page.goto(f"{base}/approvals")
        assert urlsplit(page.url).path == "/signin"
        assert await page.get_by_role("link", name="Sign in with single sign-on").count() == 1
        await context.close()


def test_groups_map_to_the_highest_role_and_a_default_role_admits_the_rest() -> None:
    """An admin-and-viewer user is admin; a one-string groups claim counts; the default role
    admits a user in no mapped group; e-mails are lower-cased."""
    settings = OidcSettings(
        issuer="http://127.0.0.1:1",
        client_id="c",
        client_secret=SecretStr("s"),
        group_roles={"ops": "viewer", "gov-admins": "admin"},
    )
    both = identity_from_claims(
        {"email": "A@Example.com", "groups": ["ops", "gov-admins"]}, settings
    )
    assert (both.email, both.role) == ("a@example.com", ApiRole.admin)
    single = identity_from_claims({"email": "b@example.com", "groups": "ops"}, settings)
    assert single.role is ApiRole.viewer
    settings.default_role = "emitter"
    other = identity_from_claims({"email": "c@example.com", "groups": ["sales"]}, settings)
    assert (other.role, other.groups) == (ApiRole.emitter, ())


def test_settings_refuse_a_plain_http_issuer_and_a_public_client_without_session_secret() -> None:
    """A non-loopback http:// issuer and a client with neither secret are refused naming the
    setting to fix."""
    with pytest.raises(ValueError, match="must be an https:// URL"):
        OidcSettings(issuer="http://idp.example", client_id="c", client_secret=SecretStr("s"))
    with pytest.raises(ValueError, match="THRESHOLD_OIDC__SESSION_SECRET"):
        OidcSettings(issuer="https://idp.example", client_id="c")
