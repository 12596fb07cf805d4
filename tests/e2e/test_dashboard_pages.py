"""The dashboard's inventory and administration pages over HTTP on the Temporal dev server."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.e2e.dashboard import browser, csrf_of, sign_in
from tests.e2e.test_credentials_actions import (
    ADMIN,
    CREDENTIAL,
    SYSTEM,
    action,
    post_actions,
    settings_for,
)
from tests.e2e.test_promotion_tour import eventually
from tests.e2e.test_scope_changes import in_production
from tests.harness import BUSINESS, running_stack

pytestmark = pytest.mark.devserver
VIEWER = "viewer@example.com"
PAGES = (
    *("/credentials", "/actions", f"/trace/{CREDENTIAL}", "/tickets", "/exceptions"),
    *("/verification", "/pictures", "/approvals", f"/systems/{SYSTEM}"),
)


async def test_new_pages_show_the_estate_without_secret_values(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A production system with recorded actions shows on the credential, action, trace,
    verification and picture pages; no page shows a token; the inventory shows fingerprints, and
    each credential's revocation once the system is contained."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        await post_actions(stack, [action(), action(tool="send_email", target="mail")])
        async with browser(stack) as http:
            assert (await http.get("/credentials")).status_code == 303  # sign in first
            await sign_in(http, stack.tokens[BUSINESS])
            shown = {path: await http.get(path) for path in PAGES}
            for path, response in shown.items():
                assert response.status_code == 200, (path, response.text[:300])
                for token in stack.tokens.values():
                    assert token not in response.text, path
                if path != f"/systems/{SYSTEM}":  # the manifest there lists its vault reference
                    assert "vault://" not in response.text, path
            creds = shown["/credentials"].text
            assert CREDENTIAL in creds and "sha256:" in creds
            assert "2026-11-26 10:00 UTC" in creds  # last use
            assert "2 actions" in shown["/actions"].text
            assert "2 actions" in shown[f"/trace/{CREDENTIAL}"].text
            only_email = await http.get("/actions", params={"tool": "send_email"})
            assert "1 action<" in only_email.text and "search_kb" not in only_email.text
            assert "0 credentials" in (await http.get("/credentials?system=nope")).text
            system_page = shown[f"/systems/{SYSTEM}"].text
            assert 'aria-label="Lifecycle timeline"' in system_page
            assert "production for" in system_page and "promotion_pending for" in system_page
            assert "<svg" in shown["/approvals"].text
            pictures = shown["/pictures"].text
            assert pictures.count("<svg") == 3
            verified = await http.get("/verification", params={"run": "true"})
            assert 'id="verify-result">intact' in verified.text
            assert (await http.get("/tokens")).status_code == 403
            counts = await http.get("/counts.json")
            assert counts.json()["in production"] == 1
            assert "revocation" not in creds  # live before containment
            contained = await stack.call(
                "POST", f"/systems/{SYSTEM}/contain", ADMIN, json={"reason": "out of scope"}
            )
            assert contained.status_code == 200, contained.text

            async def revocation_shown() -> bool:
                page = (await http.get("/credentials")).text
                return "revocation requested" in page or "revocation confirmed" in page

            assert await eventually(revocation_shown)


async def test_tokens_page_is_for_admins_and_shows_no_token_values(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """Admins see every token's principal, role and dates but no value; a viewer gets 403
    and no Tokens link; only an admin may sign a checkpoint, with the form's CSRF token."""
    settings = settings_for(database_url, tmp_path)
    async with (
        running_stack(dev_env.client, settings) as stack,
        browser(stack) as viewer,
        browser(stack) as admin,
    ):
        await sign_in(viewer, stack.tokens[VIEWER])
        refused = await viewer.get("/tokens")
        assert refused.status_code == 403 and "Only admins" in refused.text
        assert 'href="/tokens"' not in refused.text
        await sign_in(admin, stack.tokens[ADMIN])
        listed = await admin.get("/tokens")
        assert listed.status_code == 200
        assert VIEWER in listed.text and ADMIN in listed.text and "viewer" in listed.text
        for token in stack.tokens.values():
            assert token not in listed.text
        page = await admin.get("/verification")
        assert (await admin.post("/verification/checkpoint", data={})).status_code == 403
        signed = await admin.post(
            "/verification/checkpoint", data={"csrf_token": csrf_of(page.text)}
        )
        assert signed.status_code in (200, 503), signed.text
        if signed.status_code == 200:
            assert f"Signed by {ADMIN}" in signed.text
        viewer_page = await viewer.get("/verification")
        denied = await viewer.post(
            "/verification/checkpoint", data={"csrf_token": csrf_of(viewer_page.text)}
        )
        assert denied.status_code == 403
