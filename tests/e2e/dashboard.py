"""A signed-in dashboard visitor for tests: its own cookie jar over the stack's ASGI app."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from tests.harness import Stack

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token in a page's first form."""
    found = CSRF.search(html)
    assert found, "no csrf_token field in the page"
    return found.group(1)


def key_of(html: str) -> str:
    """The idempotency key of a page's first decision form."""
    found = KEY.search(html)
    assert found, "no idempotency_key field in the page"
    return found.group(1)


@asynccontextmanager
async def browser(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client with a cookie jar, like a browser tab, speaking to the stack's app."""
    assert stack.app is not None
    transport = httpx.ASGITransport(app=stack.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def sign_in(http: httpx.AsyncClient, token: str, next: str = "/") -> httpx.Response:
    """Sign in through the form (fetching its CSRF token first)."""
    form = await http.get("/signin")
    response = await http.post(
        "/signin", data={"token": token, "csrf_token": csrf_of(form.text), "next": next}
    )
    return response
