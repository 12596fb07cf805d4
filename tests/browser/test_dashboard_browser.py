"""The dashboard in real headless Chromium: sign in, approve from the inbox, see production."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.e2e.test_promotion_tour import manifest, register_and_request
from tests.harness import (
    BUSINESS,
    REQUESTER,
    ROOT,
    SECURITY,
    TECH,
    Stack,
    make_settings,
    running_stack,
    serve_api,
)

pytestmark = pytest.mark.devserver
SCREENSHOTS = Path(
    os.environ.get("THRESHOLD_SCREENSHOTS", ROOT / "tests" / "artifacts" / "screenshots")
)
"""Where the run saves its screenshots (ignored by git); the README's come from
`THRESHOLD_SCREENSHOTS=docs/screenshots`."""
VIEWER = "viewer@example.com"


async def sign_in(page: Any, base: str, token: str) -> None:
    """Sign in through the form, as a person would (label, type, press the button)."""
    await page.goto(f"{base}/")
    await page.get_by_label("Token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{base}/")


async def populate(stack: Stack) -> str:
    """A small estate: the support assistant awaiting promotion and two more systems."""
    request_id = await register_and_request(stack)
    for name in ("internal-summariser", "autonomous-agent"):
        created = await stack.call("POST", "/systems", REQUESTER, json=manifest(name))
        assert created.status_code == 201, created.text
    return request_id


async def until_listed(page: Any, text: str, attempts: int = 100) -> None:
    """Reload the estate until the projection has caught up (it is written after each command)."""
    for _ in range(attempts):
        if await page.get_by_text(text).count():
            return
        await page.wait_for_timeout(100)
        await page.reload()
    raise AssertionError(f"the estate never showed {text!r}")


async def approve_from_inbox(page: Any, base: str, token: str, request_id: str) -> None:
    """Sign in, open Approvals, approve the promotion, confirm it, see it recorded, sign out."""
    await sign_in(page, base, token)
    await page.get_by_role("link", name="Approvals", exact=True).click()
    await page.get_by_role("button", name=f"Approve {request_id}").click()
    await page.get_by_role("button", name=f"Confirm approval of {request_id}").click()
    await page.get_by_role("status").filter(has_text="Your decision was recorded").wait_for()
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{base}/signin")


async def test_approver_signs_in_and_approves_until_production(
    dev_env: WorkflowEnvironment, tmp_path: Path, chromium: Any
) -> None:
    """Three approvers approve in the browser; the system page then shows production and an
    open production gate. Screenshots of the estate and the system page go to docs/."""
    settings = make_settings(f"sqlite:///{tmp_path}/threshold.db", tmp_path)
    async with (
        running_stack(dev_env.client, settings) as stack,
        serve_api(stack.app, lifespan="off") as base,  # type: ignore[arg-type]
    ):
        request_id = await populate(stack)
        context = await chromium.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()

        await sign_in(page, base, stack.tokens[BUSINESS])
        await until_listed(page, "3 systems")
        assert await page.get_by_role("link", name="1 pending approvals").count() == 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "estate.png"), full_page=True)
        await page.set_viewport_size({"width": 390, "height": 844})  # a phone
        assert (
            await page.locator("table.estate")
            .get_by_role("link", name="support-assistant", exact=True)
            .is_visible()
        )
        await page.screenshot(path=str(SCREENSHOTS / "estate-phone.png"))
        await page.set_viewport_size({"width": 1280, "height": 900})
        await page.get_by_role("button", name="Sign out").click()

        for who in (BUSINESS, TECH, SECURITY):
            await approve_from_inbox(page, base, stack.tokens[who], request_id)

        await sign_in(page, base, stack.tokens[BUSINESS])
        await (
            page.locator("table.estate")
            .get_by_role("link", name="support-assistant", exact=True)
            .click()
        )
        state = page.locator("#system-state")
        assert await state.inner_text() == "production"
        assert await page.get_by_text("production: allowed").count() == 1
        await page.screenshot(path=str(SCREENSHOTS / "system.png"), full_page=True)
        await context.close()


async def test_viewer_cannot_approve_and_a_form_without_csrf_is_refused(
    dev_env: WorkflowEnvironment, tmp_path: Path, chromium: Any
) -> None:
    """A viewer sees no Approve button and a forged POST is refused; an approver's form with its
    CSRF field removed is refused with 403; the request stays undecided."""
    settings = make_settings(f"sqlite:///{tmp_path}/threshold.db", tmp_path)
    async with (
        running_stack(dev_env.client, settings) as stack,
        serve_api(stack.app, lifespan="off") as base,  # type: ignore[arg-type]
    ):
        request_id = await register_and_request(stack)
        viewer = await chromium.new_context()
        page = await viewer.new_page()
        await sign_in(page, base, stack.tokens[VIEWER])
        await page.get_by_role("link", name="Approvals", exact=True).click()
        assert await page.get_by_role("button", name=f"Approve {request_id}").count() == 0
        csrf = await page.locator("input[name=csrf_token]").first.input_value()
        forged = await viewer.request.post(
            f"{base}/approvals/{request_id}", form={"csrf_token": csrf, "decision": "approve"}
        )
        assert forged.status == 403
        await viewer.close()

        approver = await chromium.new_context()
        page = await approver.new_page()
        await sign_in(page, base, stack.tokens[BUSINESS])
        await page.get_by_role("link", name="Approvals", exact=True).click()
        form = page.locator(f"form[action='/approvals/{request_id}']").first
        await form.locator("input[name=csrf_token]").evaluate("field => field.remove()")
        async with page.expect_response(f"{base}/approvals/{request_id}") as answer:
            await page.get_by_role("button", name=f"Approve {request_id}").click()
        assert (await answer.value).status == 403
        await page.get_by_text("no valid CSRF token").wait_for()
        await approver.close()

        shown = await stack.call("GET", f"/requests/{request_id}", REQUESTER)
        assert shown.json()["decisions"] == [] and json.loads(shown.text)["status"] == "pending"
