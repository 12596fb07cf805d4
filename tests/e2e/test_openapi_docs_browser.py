"""Swagger UI and ReDoc render in Chromium with every request off this server blocked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from api.app import create_app
from core.settings import Settings
from tests.browser.conftest import chromium  # noqa: F401 (the fixture)
from tests.harness import serve_api

ELSEWHERE = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")


async def test_swagger_ui_and_redoc_render_offline(tmp_path: Path, chromium: Any) -> None:  # noqa: F811
    """With the network beyond 127.0.0.1 cut, /docs lists the operations by summary and /redoc
    shows the registration operation; no request leaves this server."""
    app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/d.db"))
    async with serve_api(app, lifespan="off") as base:
        context = await chromium.new_context()
        escaped: list[str] = []

        async def block(route: Any) -> None:
            escaped.append(route.request.url)
            await route.abort()

        await context.route(ELSEWHERE, block)
        page = await context.new_page()
        await page.goto(f"{base}/docs")
        await page.get_by_text("Register a system from its manifest").first.wait_for()
        assert await page.get_by_role("button", name="Authorize", exact=True).count() == 1

        await page.goto(f"{base}/redoc")
        await page.locator("h2", has_text="Register a system from its manifest").wait_for()
        await context.close()
        assert escaped == []
