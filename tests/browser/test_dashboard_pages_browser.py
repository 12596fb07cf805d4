"""The dashboard's inventory, ledger and administration pages in real headless Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.browser.test_dashboard_browser import SCREENSHOTS, sign_in
from tests.e2e.test_credentials_actions import (
    ADMIN,
    CREDENTIAL,
    SYSTEM,
    action,
    post_actions,
    settings_for,
)
from tests.e2e.test_scope_changes import in_production
from tests.harness import running_stack, serve_api

pytestmark = pytest.mark.devserver
PAGES = {
    "credentials": "/credentials",
    "actions": "/actions",
    "trace": f"/trace/{CREDENTIAL}",
    "tickets": "/tickets",
    "exceptions": "/exceptions",
    "tokens": "/tokens",
    "verification": "/verification?run=true",
    "pictures": "/pictures",
    "system-lifecycle": f"/systems/{SYSTEM}",
}
WIDEST = "(sel) => document.querySelector(sel).getBoundingClientRect().right"
"""How far right the page's part under test reaches (the system page is another helper's)."""
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


async def test_every_new_page_renders_at_desktop_and_phone_width_without_console_errors(
    dev_env: WorkflowEnvironment, tmp_path: Path, chromium: Any
) -> None:
    """An admin opens each new page at 1280 and 390 px: each shows its heading, nothing is
    logged as an error, and no new part reaches past the screen's right edge; screenshots are saved."""
    settings = settings_for(f"sqlite:///{tmp_path}/threshold.db", tmp_path)
    async with (
        running_stack(dev_env.client, settings) as stack,
        serve_api(stack.app, lifespan="off") as base,  # type: ignore[arg-type]
    ):
        await in_production(stack)
        await post_actions(stack, [action(), action(tool="send_email", target="mail")])
        context = await chromium.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        errors: list[str] = []
        page.on(
            "console",
            lambda m: errors.append(f"{m.text} {m.location}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("response", lambda r: errors.append(r.url) if r.status >= 400 else None)
        await sign_in(page, base, stack.tokens[ADMIN])
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name, path in PAGES.items():
            for width_name, (width, height) in WIDTHS.items():
                await page.set_viewport_size({"width": width, "height": height})
                response = await page.goto(f"{base}{path}")
                assert response is not None and response.status == 200, path
                assert await page.locator("h1").count() == 1, path
                wide = await page.evaluate(WIDEST, "#lifecycle" if "/systems/" in path else "main")
                assert wide <= width + 1, (path, width_name, wide)
                suffix = "" if width_name == "desktop" else "-phone"
                shot = SCREENSHOTS / f"{name}{suffix}.png"
                await page.screenshot(path=str(shot), full_page=width_name == "desktop")
        assert [e for e in errors if "/favicon.ico" not in e] == []  # the browser's own ask
        await context.close()
