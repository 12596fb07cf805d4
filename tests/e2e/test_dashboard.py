"""The dashboard over HTTP on the Temporal dev server: sign-in, CSRF, roles, inbox, estate."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.e2e.dashboard import browser, csrf_of, key_of, sign_in
from tests.e2e.test_promotion_tour import eventually, manifest, register_and_request
from tests.e2e.test_scope_changes import NEW_WRITE, cloudevent, in_production, send
from tests.harness import BUSINESS, REQUESTER, SECURITY, TECH, Stack, make_settings, running_stack

pytestmark = pytest.mark.devserver
VIEWER = "viewer@example.com"


async def test_sign_in_uses_a_strict_http_only_cookie_and_csrf(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """Anonymous visitors are sent to sign in; the form needs its CSRF token; the session cookie
    is HttpOnly and SameSite=Strict; pages carry a CSP and refuse framing; sign-out ends it."""
    settings = make_settings(database_url, tmp_path)
    async with running_stack(dev_env.client, settings) as stack, browser(stack) as http:
        anonymous = await http.get("/")
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/signin")

        no_csrf = await http.post("/signin", data={"token": stack.tokens[BUSINESS]})
        assert no_csrf.status_code == 403
        wrong = await sign_in(http, "thr_not-a-token")
        assert wrong.status_code == 401
        assert "Unknown or revoked token" in wrong.text

        signed = await sign_in(http, stack.tokens[BUSINESS], next="//evil.example/")
        assert signed.status_code == 303
        assert signed.headers["location"] == "/"  # only same-site paths are followed
        cookie = next(h for h in signed.headers.get_list("set-cookie") if "threshold_session=" in h)
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert "Secure" not in cookie  # served over plain http here

        estate = await http.get("/")
        assert estate.status_code == 200
        assert BUSINESS in estate.text
        assert "script-src 'self'" in estate.headers["content-security-policy"]
        assert "'unsafe-inline'" not in estate.headers["content-security-policy"]
        assert estate.headers["x-frame-options"] == "DENY"
        assert estate.headers["x-content-type-options"] == "nosniff"

        refused = await http.post("/signout", data={})
        assert refused.status_code == 403
        out = await http.post("/signout", data={"csrf_token": csrf_of(estate.text)})
        assert out.status_code == 303
        assert (await http.get("/")).status_code == 303


async def pending_decisions(stack: Stack, request_id: str) -> list[dict[str, object]]:
    """The decisions recorded on a request so far."""
    shown = await stack.call("GET", f"/requests/{request_id}", REQUESTER)
    decisions: list[dict[str, object]] = shown.json()["decisions"]
    return decisions


async def test_inbox_approvals_follow_the_workflow_rules(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """Approvers decide from their inbox; a form without CSRF, a viewer, the requester and a
    reasonless rejection are refused with nothing recorded; three approvals reach production."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        request_id = await register_and_request(stack)
        async with browser(stack) as viewer, browser(stack) as dana:
            await sign_in(viewer, stack.tokens[VIEWER])
            inbox = await viewer.get("/approvals")
            assert "may read but not decide" in inbox.text
            denied = await viewer.post(
                f"/approvals/{request_id}",
                data={"csrf_token": csrf_of(inbox.text), "decision": "approve"},
            )
            assert denied.status_code == 403
            assert "may not approve" in denied.text

            await sign_in(dana, stack.tokens[BUSINESS])

            async def listed() -> bool:  # the projection follows the workflow by a moment
                return request_id in (await dana.get("/approvals")).text

            assert await eventually(listed)
            inbox = await dana.get("/approvals")
            forged = await dana.post(f"/approvals/{request_id}", data={"decision": "approve"})
            assert forged.status_code == 403
            reasonless = await dana.post(
                f"/approvals/{request_id}",
                data={"csrf_token": csrf_of(inbox.text), "decision": "reject", "reason": " "},
            )
            assert reasonless.status_code == 422
            assert "a rejection needs a reason" in reasonless.text
            assert await pending_decisions(stack, request_id) == []

        stack.token(REQUESTER, "approver")
        async with browser(stack) as rita:
            await sign_in(rita, stack.tokens[REQUESTER])
            page = await rita.get("/systems/support-assistant")
            own = await rita.post(
                f"/approvals/{request_id}",
                data={"csrf_token": csrf_of(page.text), "decision": "approve"},
            )
            assert own.status_code == 403
            assert "four-eyes" in own.text
        assert await pending_decisions(stack, request_id) == []

        for who in (BUSINESS, TECH, SECURITY):
            async with browser(stack) as http:
                await sign_in(http, stack.tokens[who])
                inbox = await http.get("/approvals")
                form = {
                    "csrf_token": csrf_of(inbox.text),
                    "decision": "approve",
                    "confirm": "yes",  # a promotion's approval is confirmed (no JS needed)
                    "idempotency_key": key_of(inbox.text),
                }
                done = await http.post(f"/approvals/{request_id}", data=form)
                assert done.status_code == 303, done.text
                assert "decided=" in done.headers["location"]
                if who == BUSINESS:  # a double submit of the same form decides once
                    again = await http.post(f"/approvals/{request_id}", data=form)
                    assert again.status_code == 303, again.text
                    assert len(await pending_decisions(stack, request_id)) == 1
        decisions = await pending_decisions(stack, request_id)
        assert [d["via"] for d in decisions] == ["dashboard"] * 3
        async with browser(stack) as http:
            await sign_in(http, stack.tokens[BUSINESS])
            page = await http.get("/systems/support-assistant")
            assert 'id="system-state">production<' in page.text
            assert "production: allowed" in page.text


async def test_estate_filters_search_counts_and_pages(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """The estate lists every system with counts on top, filters by tier, state and search, and
    pages 50 at a time in urgency order."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        await register_and_request(stack)
        base = manifest("internal-summariser")

        async def register(n: int) -> None:
            body = base | {"id": f"bulk-{n:03d}", "name": f"Bulk {n}"}
            created = await stack.call("POST", "/systems", REQUESTER, json=body)
            assert created.status_code == 201, created.text

        await asyncio.gather(*(register(n) for n in range(51)))

        async with browser(stack) as http:
            await sign_in(http, stack.tokens[VIEWER])

            async def all_projected() -> bool:
                return "52 systems" in (await http.get("/")).text

            assert await eventually(all_projected)
            first = await http.get("/")
            assert "page 1 of 2" in first.text
            assert "<strong data-count>1</strong> pending approvals" in first.text
            assert 'rel="next"' in first.text
            # Urgency order across the estate: the system with a pending request (it escalates)
            # leads page 1 ahead of ids sorting before it; page 2 continues with the rest by id.
            listed = first.text.index("<tbody")
            assert first.text.index("/systems/support-assistant", listed) < first.text.index(
                "/systems/bulk-000", listed
            )
            assert "/systems/bulk-048" in first.text and "/systems/bulk-049" not in first.text
            second = await http.get("/?page=2")
            assert "/systems/bulk-049" in second.text and "/systems/bulk-050" in second.text
            assert "/systems/support-assistant" not in second.text
            assert "/systems/bulk-000" not in second.text
            found = await http.get("/?q=support")
            assert "1 systems" in found.text and "support-assistant" in found.text
            pending = await http.get("/?state=promotion_pending")
            assert "1 systems" in pending.text
            overdue = await http.get("/?overdue=true")
            assert "0 systems" in overdue.text
            owned = await http.get(f"/?owner={BUSINESS}")
            assert "support-assistant" in owned.text


async def test_system_page_highlights_the_declared_change(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """After a material change the system page marks the differing fields, shows the open
    revalidation with its roles, both gates, and the change in the timeline."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        await in_production(stack)
        sent = await send(stack, cloudevent(NEW_WRITE))
        assert sent.status_code == 200, sent.text
        async with browser(stack) as http:
            await sign_in(http, stack.tokens[TECH])

            async def timeline_has_change() -> bool:
                page = await http.get("/systems/support-assistant")
                return "revalidation_requested" in page.text

            assert await eventually(timeline_has_change)
            page = (await http.get("/systems/support-assistant")).text
            assert 'class="changed"' in page
            assert "<mark>crm.accounts</mark>" in page
            assert "revalidation_pending" in page
            assert "pilot: allowed" in page
            assert "Decide on " + sent.json()["request_id"] in page  # on the request page
            assert "scope_change_assessed" in page
