"""The OpenAPI document: valid 3.1, honest about bodies and errors, usable as written; local docs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.settings import Settings
from tests.harness import REQUESTER, make_settings, running_stack

RAW_WRITES = {
    ("post", "/api/v1/systems"): ("application/json", "application/yaml"),
    ("put", "/api/v1/systems/{system_id}/manifest"): ("application/json", "application/yaml"),
    ("post", "/api/v1/systems/{system_id}/credentials"): ("application/json", "application/yaml"),
    ("put", "/api/v1/systems/{system_id}/credentials/{credential_id}"): (
        "application/json",
        "application/yaml",
    ),
    ("post", "/api/v1/actions"): ("application/json",),
}
CAMEL = re.compile(r"^[a-z]+(?:[A-Z][a-z0-9]*)+$")


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The document as the app serves it (no server needed to build it)."""
    tmp = tmp_path_factory.mktemp("openapi")
    app = create_app(Settings(data_dir=tmp, database_url=f"sqlite:///{tmp}/d.db"))
    built: dict[str, Any] = app.openapi()
    return built


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) for every operation."""
    return [
        (method, path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
    ]


def error_validator(document: dict[str, Any]) -> OAS31Validator:
    """A validator for the documented ErrorBody schema."""
    return OAS31Validator(
        {"$ref": "#/components/schemas/ErrorBody", "components": document["components"]}
    )


def test_document_is_valid_openapi_31(document: dict[str, Any]) -> None:
    """The served document validates against the OpenAPI 3.1 schema and declares bearer auth."""
    validate(document)
    assert document["openapi"].startswith("3.1")
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert document["security"] == [{"bearerAuth": []}]


def test_every_operation_is_named_summarised_and_documents_its_errors(
    document: dict[str, Any],
) -> None:
    """Each operation has a unique camelCase id, a summary, and ErrorBody on 401, 403 and 422."""
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids))
    assert "registerSystem" in ids and "listSystems" in ids
    for method, path, op in operations(document):
        assert CAMEL.match(op["operationId"]), (method, path, op["operationId"])
        assert op.get("summary"), (method, path)
        for status in ("401", "403", "422"):
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
        names = [p["name"].lower() for p in op.get("parameters", [])]
        assert "authorization" not in names, (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_raw_read_writes_document_their_bodies(document: dict[str, Any]) -> None:
    """Manifests, credentials and actions have request bodies (JSON, and YAML where accepted)."""
    for (method, path), media_types in RAW_WRITES.items():
        body = document["paths"][path][method]["requestBody"]
        assert body["required"] is True
        assert tuple(body["content"]) == media_types, (method, path)
        assert "example" in body["content"]["application/json"]
    manifest = document["components"]["schemas"]["AISystemManifest"]
    assert {"id", "name", "data_classification", "model"} <= set(manifest["required"])


async def test_documented_example_registers_and_errors_match_the_schema(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The JSON example registers (201), the YAML example amends (200), a refusal fits ErrorBody."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    async with running_stack(dev_env.client, settings) as stack:
        document = (await stack.http.get("/openapi.json")).json()
        register = document["paths"]["/api/v1/systems"]["post"]["requestBody"]["content"]
        example = register["application/json"]["example"]
        created = await stack.call("POST", "/systems", REQUESTER, json=example)
        assert created.status_code == 201, created.text
        assert created.json()["system"]["state"] == "pilot"

        amend = document["paths"]["/api/v1/systems/{system_id}/manifest"]["put"]
        text = amend["requestBody"]["content"]["application/yaml"]["example"]
        amended = await stack.call(
            "PUT",
            f"/systems/{example['id']}/manifest",
            REQUESTER,
            content=text.replace("five-bullet", "three-bullet"),
            headers={"Content-Type": "application/yaml"},
        )
        assert amended.status_code == 200, amended.text

        refused = await stack.call("POST", "/systems", REQUESTER, json={"id": example["id"]})
        assert refused.status_code == 422
        error_validator(document).validate(refused.json())
        anonymous = await stack.http.get("/api/v1/systems")
        assert anonymous.status_code == 401
        error_validator(document).validate(anonymous.json())


async def test_docs_pages_load_only_local_assets(tmp_path: Path) -> None:
    """/docs and /redoc reference no external host, and every asset they load is served here."""
    app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/d.db"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://threshold") as http:
        for page in ("/docs", "/redoc"):
            html = (await http.get(page)).text
            assert re.findall(r"(?:https?:)?//[\w.-]+", html) == [], page
            assets = re.findall(r"""(?:src|href)=["'](/[^"']+)["']""", html)
            assets += re.findall(r"""url: ?["'](/[^"']+)["']""", html)
            assert any(a.endswith(".js") for a in assets), page
            for asset in assets:
                assert (await http.get(asset)).status_code == 200, asset
