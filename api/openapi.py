"""The OpenAPI document: bearer scheme, the real error body, raw-body request schemas, local docs.

Routes that read their body themselves (manifests in JSON or YAML, credentials, action batches)
declare it with `openapi_extra=request_body(...)`; `responses=errors(...)` documents each status
a route answers with `ErrorBody`, the shape `api/errors.py` sends. Swagger UI and ReDoc load
their assets from `api/static/docs` (vendored from npm, licences beside them), never a CDN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

DOCS_ASSETS = Path(__file__).resolve().parent / "static" / "docs"
ASSETS_PATH = "/docs-assets"
SCHEME = "bearerAuth"
YAML_TYPES = ("application/yaml",)


class ErrorProblem(BaseModel):
    """One thing wrong: the field (dotted path, `(body)` for the whole body) and the fix."""

    field: str = Field(examples=["business_owner"])
    message: str = Field(examples=["missing: this field is required"])


class ErrorDetail(BaseModel):
    """What went wrong, for a person, and every problem by field."""

    message: str = Field(examples=["invalid manifest: business_owner: missing"])
    problems: list[ErrorProblem] = Field(default_factory=list)


class ErrorBody(BaseModel):
    """Every error the API answers (4xx and 503) has this shape."""

    error: ErrorDetail


WHY = {
    400: "The body is not parseable (e.g. broken JSON)",
    401: "No bearer token, or an unknown or revoked one (header `WWW-Authenticate: Bearer`)",
    403: "The token's role may not do this, or a governance rule forbids it for this principal",
    404: "The system, request, ticket or token named does not exist",
    409: "The current state refuses the command (e.g. already registered, already decided)",
    415: "The Content-Type is not one this operation accepts",
    413: "The body is larger than the configured limit (refused while it streams in)",
    422: "The input is invalid; `problems` names each field and the fix",
    429: "Too many failed tokens or writes: wait `Retry-After` seconds",
    503: "A dependency (Temporal, the database) is unavailable; retry after `Retry-After` seconds",
}
READ = (401, 403, 422)
COMMAND = (400, 401, 403, 404, 409, 422, 503)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry documenting each status with `ErrorBody`."""
    return {status: {"model": ErrorBody, "description": WHY[status]} for status in statuses}


# Models referenced from `openapi_extra` bodies; their schemas join components.schemas.
_BODY_MODELS: dict[str, type[BaseModel]] = {}
# Hand-written schemas (e.g. the CloudEvent envelope) named once, referenced by `$ref`.
_NAMED: dict[str, dict[str, Any]] = {}


def component(name: str, schema: dict[str, Any]) -> dict[str, str]:
    """Name a hand-written schema in components.schemas; return a `$ref` to it."""
    _NAMED[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


def request_body(
    model: type[BaseModel],
    example: Any,
    *,
    yaml_too: bool = False,
    array: bool = False,
) -> dict[str, Any]:
    """`openapi_extra` declaring a raw-read body: JSON (and YAML) with the model's schema."""
    _BODY_MODELS[model.__name__] = model
    ref: dict[str, Any] = {"$ref": f"#/components/schemas/{model.__name__}"}
    schema = {"type": "array", "items": ref} if array else ref
    content: dict[str, Any] = {"application/json": {"schema": schema, "example": example}}
    if yaml_too:
        text = yaml.safe_dump(example, sort_keys=False)
        for media in YAML_TYPES:
            content[media] = {"schema": schema, "example": text}
    return {"requestBody": {"required": True, "content": content}}


def operation_id(route: APIRoute) -> str:
    """Fallback operation id for a route without one: its function name in camelCase."""
    head, *rest = route.name.split("_")
    return head + "".join(part.title() for part in rest)


def _body_schemas() -> dict[str, Any]:
    """Validation-mode JSON schemas of the body models and everything they reference."""
    if not _BODY_MODELS:
        return {}
    pairs = [(model, "validation") for model in _BODY_MODELS.values()]
    _, top = models_json_schema(pairs, ref_template="#/components/schemas/{model}")  # type: ignore[arg-type]
    defs: dict[str, Any] = top.get("$defs", {})
    return defs


def build_document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of `app`, with the bearer scheme and the raw-body schemas."""
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        servers=app.servers,
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name, schema in (_body_schemas() | _NAMED).items():
        schemas.setdefault(name, schema)
    components["securitySchemes"] = {
        SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "A Threshold API token: `threshold tokens issue --principal EMAIL "
            "--role viewer|emitter|approver|admin`, sent as `Authorization: Bearer thr_...`.",
        }
    }
    document["security"] = [{SCHEME: []}]
    for operation in _operations(document):
        # The bearer token is the security scheme, not a parameter of each operation.
        kept = [p for p in operation.get("parameters", []) if not _is_authorization(p)]
        if kept:
            operation["parameters"] = kept
        else:
            operation.pop("parameters", None)
    return document


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation object of the document."""
    return [op for item in document.get("paths", {}).values() for op in item.values()]


def _is_authorization(parameter: dict[str, Any]) -> bool:
    """Whether a parameter is the Authorization header."""
    return parameter.get("in") == "header" and parameter.get("name", "").lower() == "authorization"


def _docs_routes(app: FastAPI) -> None:
    """Swagger UI at /docs and ReDoc at /redoc, from the vendored assets."""
    spec = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=spec,
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=spec,
            title=f"{app.title} API",
            redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
            with_google_fonts=False,
        )


def install(app: FastAPI) -> None:
    """Serve the document and the local docs pages (create the app with docs_url=None)."""
    cached: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not cached:
            cached.update(build_document(app))
        return cached

    app.openapi = openapi  # type: ignore[method-assign]
    app.mount(ASSETS_PATH, StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    _docs_routes(app)


# Examples shown in the docs; `tests/e2e/test_openapi.py` registers the manifest as documented.
MANIFEST_EXAMPLE: dict[str, Any] = {
    "id": "internal-summariser",
    "name": "Internal meeting-notes summariser",
    "description": "Condenses synthetic meeting transcripts into action lists.",
    "business_owner": "olivia.ops@example.com",
    "technical_owner": "tom.tech@example.com",
    "use_cases": [
        {
            "name": "summarise-notes",
            "purpose": "Turn a synthetic transcript into a five-bullet summary with owners.",
            "human_approval": [],
            "affects_real_decisions": False,
        }
    ],
    "data_classification": "internal",
    "synthetic_data_only": True,
    "autonomy": "suggest_only",
    "capabilities": {"read_targets": ["s3://pilot-synthetic/meeting-transcripts"]},
    "model": {"provider": "anthropic", "name": "claude-sonnet", "version": "2026-09"},
    "environment": "pilot",
}
CREDENTIAL_EXAMPLE: dict[str, Any] = {
    "id": "summariser-pilot-llm-key",
    "kind": "api_key",
    "environment": "pilot",
    "owner": "tom.tech@example.com",
    "scopes": ["llm:invoke"],
    "expires_at": "2027-01-15T00:00:00Z",
    "vault_ref": "vault://kv/pilot/internal-summariser/llm-key",
}
ACTIONS_EXAMPLE: list[dict[str, Any]] = [
    {
        "system": "internal-summariser",
        "environment": "pilot",
        "time": "2026-12-01T09:30:00Z",
        "kind": "tool_call",
        "trace_id": "trace-7f3a",
        "id": "call-0001",
        "tool": "search",
        "target": "s3://pilot-synthetic/meeting-transcripts",
        "access": "read",
        "credential_id": "summariser-pilot-llm-key",
        "model": "claude-sonnet",
    }
]
