"""Error bodies: JSON a person can act on, with the right status code.

No body ever quotes a secret: pydantic's `input` is never rendered (a 422 names the field and
the fix only), and every message and field passes through `scrub`, which replaces anything
the secret rule set finds by its fingerprint.

Refusals are 4xx (domain errors, validation, 413 body size, 429 from `api.deps`); the only 5xx
is 503 for a dependency fault (`api.faults.DependencyUnavailable`, an operational database
error, Temporal unreachable or silent), always with Retry-After. Anything else is a bug.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError

from api.faults import (
    SILENT,
    TRANSIENT,
    DependencyUnavailable,
    database_down,
    task_failing,
    temporal_down,
    timed_out,
    worker_failing,
)
from api.limits import BodyTooLarge
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
    app.add_exception_handler(BodyTooLarge, body_too_large)
    app.add_exception_handler(DependencyUnavailable, dependency_unavailable)
    app.add_exception_handler(OperationalError, database_error)
    app.add_exception_handler(InterfaceError, database_error)
    app.add_exception_handler(RPCError, temporal_error)
    app.add_exception_handler(RPCTimeoutOrCancelledError, temporal_timeout)


async def http_error(_: Request, exc: Exception) -> JSONResponse:
    """HTTP errors raised by routes and dependencies, in the same shape."""
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


async def body_too_large(_: Request, exc: Exception) -> JSONResponse:
    """A body over the size limit: 413 naming the limit."""
    assert isinstance(exc, BodyTooLarge)
    return JSONResponse(
        error_body(str(exc.detail), exc.problems()),
        status_code=413,
        headers={"Connection": "close"},
    )


async def dependency_unavailable(_: Request, exc: Exception) -> JSONResponse:
    """A dependency fault: 503 naming what is down, with Retry-After."""
    assert isinstance(exc, DependencyUnavailable)
    problem = {"field": exc.dependency, "message": f"retry after {exc.retry_after} s"}
    return JSONResponse(
        error_body(exc.message, [problem]),
        status_code=503,
        headers={"Retry-After": str(exc.retry_after)},
    )


async def database_error(request: Request, exc: Exception) -> JSONResponse:
    """An operational database error (locked, unreachable) is a 503 naming the database."""
    assert isinstance(exc, OperationalError | InterfaceError)
    return await dependency_unavailable(request, database_down(exc))


async def temporal_error(request: Request, exc: Exception) -> JSONResponse:
    """Temporal unreachable outside a bounded call: 503; any other RPC error is a bug."""
    assert isinstance(exc, RPCError)
    if task_failing(exc):
        settings = request.app.state.settings.temporal
        return await dependency_unavailable(request, worker_failing(settings))
    if exc.status not in TRANSIENT:
        raise exc
    if exc.status in SILENT:
        return await temporal_timeout(request, exc)
    settings = request.app.state.settings.temporal
    return await dependency_unavailable(request, temporal_down(settings, exc.status.name.lower()))


async def temporal_timeout(request: Request, exc: Exception) -> JSONResponse:
    """A Temporal call outside a bounded block timed out: 503 saying which part is silent."""
    service = request.app.state.service
    fault = await timed_out(service.client, request.app.state.settings.temporal)
    return await dependency_unavailable(request, fault)
