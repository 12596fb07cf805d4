"""The request page and a contained system in real headless Chromium, at desktop and phone width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.browser.test_dashboard_browser import SCREENSHOTS, populate, sign_in, until_listed
from tests.e2e.test_credentials_actions import ADMIN, settings_for
from tests.harness import BUSINESS, SECURITY, TECH, running_stack, serve_api

pytestmark = pytest.mark.devserver
WIDTHS = {"desktop": 1280, "phone": 390}
WIDEST = "(sel) => document.querySelector(sel).getBoundingClientRect().right"


def watch_console(page: Any) -> list[str]:
    """Collect console errors and uncaught page errors of `page`."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status == 404 else None)
    return errors


async def test_request_page_confirm_and_contained_system_at_both_widths(
    dev_env: WorkflowEnvironment, tmp_path: Path, chromium: Any
) -> None:
    """An approver opens a request from the home page's "needs my decision", approves, confirms
    the production promotion and sees it recorded, at 1280 and 390 px with no console error (the
    manifest under review fits the screen, a row per field); a
    contained system shows revocation per credential and Release. Screenshots go to docs/."""
    settings = settings_for(f"sqlite:///{tmp_path}/threshold.db", tmp_path)
    async with (
        running_stack(dev_env.client, settings) as stack,
        serve_api(stack.app, lifespan="off") as base,  # type: ignore[arg-type]
    ):
        request_id = await populate(stack)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for (label, width), who in zip(WIDTHS.items(), (BUSINESS, TECH), strict=True):
            context = await chromium.new_context(viewport={"width": width, "height": 900})
            page = await context.new_page()
            errors = watch_console(page)
            await sign_in(page, base, stack.tokens[who])
            await until_listed(page, "3 systems")
            mine = page.locator("#needs-my-decision")
            await mine.get_by_role("link", name=request_id).wait_for()
            if label == "desktop":
                await page.screenshot(path=str(SCREENSHOTS / "home.png"), full_page=True)
            await mine.get_by_role("link", name=request_id).click()
            await page.wait_for_url(f"{base}/requests/{request_id}")
            review = page.locator("#review-diff")
            await review.get_by_role(
                "rowheader", name="name", exact=True
            ).wait_for()  # path, before → after
            right = await page.evaluate(WIDEST, "#review-diff")
            assert right <= width + 1, (label, right)
            shown = await review.inner_text()
            assert "vault://" not in shown and "sha256:" in shown  # a fingerprint, not the ref
            await page.screenshot(path=str(SCREENSHOTS / f"request-{label}.png"), full_page=True)
            await page.get_by_role("button", name=f"Approve {request_id}").click()
            confirm = page.get_by_role("button", name=f"Confirm approval of {request_id}")
            await confirm.wait_for()
            assert await confirm.is_visible()
            await page.screenshot(path=str(SCREENSHOTS / f"confirm-{label}.png"), full_page=True)
            await confirm.click()
            await page.get_by_role("status").filter(has_text="decision was recorded").wait_for()
            assert errors == [], errors
            await context.close()

        contained = await stack.call(
            "POST", "/systems/support-assistant/contain", ADMIN, json={"reason": "key leaked"}
        )
        assert contained.status_code == 200, contained.text
        context = await chromium.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        errors = watch_console(page)
        await sign_in(page, base, stack.tokens[SECURITY])
        await page.goto(f"{base}/systems/support-assistant")
        await page.get_by_role("button", name="Ask to release support-assistant").wait_for()
        assert await page.locator("td[data-revocation]").count() >= 1
        await page.screenshot(path=str(SCREENSHOTS / "contained.png"), full_page=True)
        assert errors == [], errors
        await context.close()
