"""The HTTP client the commands share: configuration, requests, errors and exit codes.

`CliError` is the one exception commands raise; the root command prints it and exits with its
`exit_code`, which deploy scripts branch on: `DENIED` (1) when governance refused the call
(HTTP 403/409), `USAGE` (2) for input errors (HTTP 400/401/404/413/422), a missing or empty
token, a bad file; `UNAVAILABLE` (3) when the call may simply be retried: the API cannot be
reached or did not answer in time, or it answered 429 or 5xx (a dependency is down). Every
write carries an Idempotency-Key, so retrying a 3 never applies a command twice.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import typer

from domain.secrets import scrub

OK, DENIED, USAGE, UNAVAILABLE = 0, 1, 2, 3
DEFAULT_URL = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
TOKEN_FILE = "admin-token"
NO_TOKEN = (
    "no token: set THRESHOLD_TOKEN or run `threshold up` once to create .threshold/admin-token"
)
EMPTY_TOKEN = (
    "THRESHOLD_TOKEN (or --token) is set but empty: give it a token, or unset it to use the "
    "local admin token file"
)

# The seam tests use: an `httpx.MockTransport` set here replaces the network.
TRANSPORT: httpx.BaseTransport | None = None


@dataclass(frozen=True)
class Problem:
    """One thing wrong, with the field it concerns."""

    field: str
    message: str


@dataclass
class CliError(Exception):
    """A failure to report to the user, with the exit code a script sees."""

    message: str
    problems: list[Problem] = field(default_factory=list)
    exit_code: int = USAGE

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Options:
    """Global options: where the API is and the bearer token (None: look for the file)."""

    url: str = DEFAULT_URL
    token: str | None = None


def token_files() -> list[Path]:
    """Where `threshold up` leaves the admin token, in the order they are tried."""
    paths: list[Path] = []
    data_dir = os.environ.get("THRESHOLD_DATA_DIR")
    if data_dir:
        paths.append(Path(data_dir) / TOKEN_FILE)
    paths.append(Path(".threshold") / TOKEN_FILE)
    return paths


def find_token(explicit: str | None) -> str:
    """The token from --token/THRESHOLD_TOKEN; the admin-token file only when neither is set.

    Set but empty is an error (a deploy script whose secret did not load must not act as the
    local admin); when the file is used, stderr says so once.
    """
    if explicit is not None or "THRESHOLD_TOKEN" in os.environ:
        value = (explicit if explicit is not None else os.environ["THRESHOLD_TOKEN"]).strip()
        if not value:
            raise CliError(EMPTY_TOKEN)
        return value
    for path in token_files():
        if path.is_file():
            value = path.read_text(encoding="utf-8").strip()
            if value:
                typer.echo(
                    f"using the local admin token in {path} (THRESHOLD_TOKEN is not set)", err=True
                )
                return value
    raise CliError(NO_TOKEN)


def segment(value: str) -> str:
    """Quote one path segment so an id can never change the URL's path."""
    return quote(value, safe="")


def exit_code_for(status: int) -> int:
    """Refusals (403, 409) are denials; 429 and 5xx may be retried; the rest is bad input."""
    if status in (403, 409):
        return DENIED
    return UNAVAILABLE if status == 429 or status >= 500 else USAGE


def _retry_hint(response: httpx.Response) -> str:
    """`(retry after N s)` when the answer says when to retry."""
    after = response.headers.get("retry-after")
    return f" (retry after {after} s)" if after else ""


def error_from(response: httpx.Response) -> CliError:
    """Turn an error response ({"error": {"message", "problems"}}) into a `CliError`."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    code = exit_code_for(response.status_code)
    if not isinstance(error, dict):
        text = scrub(response.text.strip()[:300]) or response.reason_phrase
        return CliError(f"HTTP {response.status_code}: {text}", [], code)
    problems = [
        Problem(scrub(str(p.get("field", ""))), scrub(str(p.get("message", ""))))
        for p in error.get("problems") or []
        if isinstance(p, dict)
    ]
    message = scrub(str(error.get("message") or f"HTTP {response.status_code}")) + _retry_hint(
        response
    )
    return CliError(message, problems, code)


class Api:
    """Synchronous calls to `/api/v1`; every write carries an Idempotency-Key."""

    def __init__(self, url: str, token: str, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url + API_PREFIX,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=TIMEOUT,
            transport=transport,
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET a resource; None-valued parameters are left out."""
        return self._send("GET", path, params=params)

    def get_text(self, path: str, params: dict[str, Any] | None = None) -> str:
        """GET a text document (CSV, HTML, JSON kept as sent)."""
        return str(self._send("GET", path, params=params, raw=True))

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """POST a JSON body (None-valued parameters are left out)."""
        return self._send("POST", path, params=params, json=body, key=key)

    def send_json(self, method: str, path: str, body: Any, *, key: str | None = None) -> Any:
        """Send a JSON body with any method (PUT)."""
        return self._send(method, path, json=body, key=key)

    def send_document(
        self, method: str, path: str, content: bytes, content_type: str, key: str | None
    ) -> Any:
        """Send a raw document (a manifest file) with its content type."""
        return self._send(method, path, content=content, content_type=content_type, key=key)

    def delete(self, path: str, *, key: str | None = None) -> Any:
        """DELETE a resource."""
        return self._send("DELETE", path, key=key)

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        key: str | None = None,
        raw: bool = False,
    ) -> Any:
        headers: dict[str, str] = {}
        if method != "GET":
            headers["Idempotency-Key"] = key or str(uuid.uuid4())
        if content_type:
            headers["Content-Type"] = content_type
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(
                method, path, params=query, json=json, content=content, headers=headers
            )
        except httpx.TimeoutException:
            raise CliError(
                f"{self.url} did not answer within {TIMEOUT.read:.0f}s; retry", [], UNAVAILABLE
            ) from None
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            raise self._unreachable(exc) from None
        if raw and not response.is_error:
            return response.text
        return self._decode(response)

    def _unreachable(self, exc: Exception) -> CliError:
        hint = "start it with `threshold up`, or point --url / THRESHOLD_URL at it"
        return CliError(f"cannot connect to {self.url}: {exc}", [Problem("url", hint)], UNAVAILABLE)

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        if response.is_error:
            raise error_from(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise CliError(
                f"the API answered HTTP {response.status_code} with a body that is not JSON; "
                "is --url pointing at Threshold?"
            ) from None


def connect(ctx: typer.Context) -> Api:
    """An `Api` for this invocation (closed with the command's context)."""
    options = ctx.find_object(Options) or Options()
    api = Api(options.url, find_token(options.token), transport=TRANSPORT)
    ctx.call_on_close(api.close)
    return api
