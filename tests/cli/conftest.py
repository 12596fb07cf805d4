"""Fixtures for CLI tests: a fake API behind `httpx.MockTransport` and a clean environment."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
# The project is not installed into the venv; make `pytest tests/cli` find `cli/`.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from cli import client  # noqa: E402
from cli.main import app  # noqa: E402

Route = tuple[str, str]
Reply = tuple[int, Any]


@dataclass
class FakeApi:
    """Answers (method, path) routes with canned JSON and records every request."""

    routes: dict[Route, Reply] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def reply(self, method: str, path: str, status: int, body: Any = None) -> None:
        """Answer `method path` (path after /api/v1) with `status` and a JSON body."""
        self.routes[(method, "/api/v1" + path)] = (status, body)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """The MockTransport handler."""
        self.requests.append(request)
        status, body = self.routes.get(
            (request.method, request.url.path),
            (404, {"error": {"message": "no such route", "problems": []}}),
        )
        if body is None:
            return httpx.Response(status)
        return httpx.Response(status, content=json.dumps(body).encode(), headers=_JSON)


_JSON = {"content-type": "application/json"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No THRESHOLD_* settings leak in, and the working directory has no token file."""
    for name in ("THRESHOLD_URL", "THRESHOLD_TOKEN", "THRESHOLD_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    """A fake API installed as the CLI's transport, reached with token `t0ken`."""
    fake = FakeApi()
    monkeypatch.setattr(client, "TRANSPORT", httpx.MockTransport(fake.handle))
    monkeypatch.setenv("THRESHOLD_TOKEN", "t0ken")
    return fake


@pytest.fixture
def cli() -> Callable[..., Any]:
    """Invoke `threshold` with arguments; returns click's Result (stdout, stderr, exit_code)."""
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(app, list(args))

    return invoke


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A transport that refuses every connection."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    monkeypatch.setattr(client, "TRANSPORT", httpx.MockTransport(refuse))
    yield
