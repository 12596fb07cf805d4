"""Headless Chromium (Debian's package) driven by Playwright, without any browser download."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.chromium import ARGS, CHROMIUM, require_chromium


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    """A launched headless Chromium browser (skips without one, except in CI)."""
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()
