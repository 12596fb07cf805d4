"""`@governed`: agent code asks Threshold before each tool call, write or privileged action.

    gov = Governor("http://threshold:8000", token, system="support-assistant")

    @gov.governed(tool="search_kb", access="read", target="kb.articles")
    def search_kb(query: str) -> list[str]: ...

A `deny` raises `ActionDenied` (the tool never runs); `require_approval` waits (long poll) for a
human's decision up to `approval_wait` seconds, then runs on `allow` or raises.
"""

from __future__ import annotations

import functools
import inspect
import os
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

F = TypeVar("F", bound=Callable[..., Any])


class ActionDenied(Exception):
    """Threshold denied the action (or no human approved it in time)."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__("; ".join(answer.get("reasons", [])) or str(answer.get("decision")))
        self.answer = answer


class Governor:
    """An authorize client bound to one system and environment."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        system: str,
        environment: str = "production",
        credential_id: str | None = None,
        model: str | None = None,
        approval_wait: float = 300.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        base = (url or os.environ.get("THRESHOLD_URL", "http://127.0.0.1:8000")).rstrip("/")
        self.http = httpx.Client(
            base_url=base + "/api/v1",
            headers={"Authorization": f"Bearer {token or os.environ['THRESHOLD_TOKEN']}"},
            timeout=httpx.Timeout(65.0, connect=5.0),
            transport=transport,
        )
        self.system, self.environment = system, environment
        self.credential_id, self.approval_wait = credential_id, approval_wait
        self.model = model

    def authorize(self, tool: str, access: str, **fields: Any) -> dict[str, Any]:
        """The final decision on one action (waiting on an approval); raises on deny."""
        body = {
            "system": self.system,
            "environment": self.environment,
            "tool": tool,
            "access": access,
            "credential_id": self.credential_id,
            "model": self.model,
            "trace_id": fields.pop("trace_id", None) or uuid.uuid4().hex,
            **fields,
        }
        response = self.http.post(  # the key makes a retried call find its own approval
            "/authorize",
            json={k: v for k, v in body.items() if v is not None},
            headers={"Idempotency-Key": "authorize:" + uuid.uuid4().hex},
        )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        deadline = time.monotonic() + self.approval_wait
        while answer["decision"] == "require_approval" and time.monotonic() < deadline:
            wait = min(30.0, max(0.0, deadline - time.monotonic()))
            polled = self.http.get(f"/authorize/{answer['approval_id']}", params={"wait": wait})
            polled.raise_for_status()
            answer = polled.json()
        if answer["decision"] != "allow":
            raise ActionDenied(answer)
        return answer

    def governed(self, *, tool: str, access: str = "read", **fields: Any) -> Callable[[F], F]:
        """Decorate a tool: it runs only when Threshold allows it (sync or async)."""

        def wrap(function: F) -> F:
            if inspect.iscoroutinefunction(function):

                @functools.wraps(function)
                async def run_async(*args: Any, **kwargs: Any) -> Any:
                    import asyncio

                    await asyncio.to_thread(self.authorize, tool, access, **dict(fields))
                    return await function(*args, **kwargs)

                return run_async  # type: ignore[return-value]

            @functools.wraps(function)
            def run(*args: Any, **kwargs: Any) -> Any:
                self.authorize(tool, access, **dict(fields))
                return function(*args, **kwargs)

            return run  # type: ignore[return-value]

        return wrap
