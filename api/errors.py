"""Error bodies: JSON a person can act on, with the right status code.

No body ever quotes a secret: pydantic's `input` is never rendered (a 422 names the field and
the fix only), and every message and field passes through `scrub`, which replaces anything
the secret rule set finds by its fingerprint.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import GovernanceError
from domain.secrets import scrub

STATUS = {"invalid": 422, "conflict": 409, "forbidden": 403, "not_found": 404}


def error_body(message: str, problems: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The one error shape: a message and the problems by field (secrets scrubbed)."""
    shown = [{key: scrub(value) for key, value in p.items()} for p in problems or []]
    return {"error": {"message": scrub(message), "problems": shown}}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [scrub(str(p)) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "(body)"


def _message(msg: str) -> str:
    return msg.removeprefix("Value error, ")


async def governance_error(_: Request, exc: Exception) -> JSONResponse:
    """Domain refusals keep their code and problems."""
    assert isinstance(exc, GovernanceError)
    problems = [p.as_dict() for p in exc.problems]
    return JSONResponse(error_body(exc.message, problems), status_code=STATUS.get(exc.code, 409))


async def validation_error(_: Request, exc: Exception) -> JSONResponse:
    """FastAPI's request validation, re-phrased to name each field and the fix.

    Only `loc` and `msg` are used: pydantic's `input` (the value given) is never echoed.
    """
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"field": _field(tuple(e["loc"])), "message": _message(str(e["msg"]))} for e in exc.errors()
    ]
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return JSONResponse(error_body(f"invalid request: {summary}", problems), status_code=422)


def install(app: FastAPI) -> None:
    """Register the error handlers."""
    app.add_exception_handler(GovernanceError, governance_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


async def http_error(_: Request, exc: Exception) -> JSONResponse:
    """HTTP errors raised by routes and dependencies, in the same shape."""
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )
