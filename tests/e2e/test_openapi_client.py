"""A client generated from the OpenAPI document (openapi-python-client) works against the API."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.harness import REQUESTER, make_settings, running_stack, serve_api

pytestmark = pytest.mark.devserver
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "threshold_client"


async def generate(document: dict[str, Any], where: Path) -> str:
    """Generate the client package under `where`; the generator's output (warnings)."""
    spec = where / "openapi.json"
    spec.write_text(json.dumps(document))
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    process = await asyncio.create_subprocess_exec(
        str(GENERATOR),
        *("generate", "--path", str(spec), "--meta", "none"),
        *("--output-path", str(where / PACKAGE)),
        cwd=where,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    return output.decode()


@pytest.fixture
def importable(tmp_path: Path) -> Iterator[Path]:
    """A directory on sys.path for the generated package, removed (with its modules) after."""
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


async def test_generated_client_registers_reads_and_parses_refusals(
    dev_env: WorkflowEnvironment, importable: Path
) -> None:
    """The generated client registers the documented example (201, a typed CommandOut), reads
    the system back as a typed SystemView, and parses a refusal as ErrorBody with its fields."""
    settings = make_settings(f"sqlite:///{importable}/t.db", importable)
    async with (
        running_stack(dev_env.client, settings) as stack,
        serve_api(stack.app, lifespan="off") as base,  # type: ignore[arg-type]
    ):
        document = (await stack.http.get("/openapi.json")).json()
        warnings = await generate(document, importable)
        assert "Unable to parse" not in warnings and "duplicate models" not in warnings, warnings
        client_module: Any = importlib.import_module(PACKAGE)
        systems: Any = importlib.import_module(f"{PACKAGE}.api.systems")
        models: Any = importlib.import_module(f"{PACKAGE}.models")
        importlib.import_module(f"{PACKAGE}.api.systems.register_system")
        importlib.import_module(f"{PACKAGE}.api.systems.get_system")
        body = document["paths"]["/api/v1/systems"]["post"]["requestBody"]
        example = body["content"]["application/json"]["example"]

        token = stack.tokens[REQUESTER]
        async with client_module.AuthenticatedClient(base_url=base, token=token) as client:
            manifest = models.AISystemManifest.from_dict(example)
            created = await systems.register_system.asyncio_detailed(client=client, body=manifest)
            assert created.status_code == 201, created.content
            assert isinstance(created.parsed, models.CommandOut)
            assert created.parsed.system.state.value == "pilot"

            shown = await systems.get_system.asyncio_detailed(example["id"], client=client)
            assert isinstance(shown.parsed, models.SystemView)
            assert shown.parsed.manifest.name == example["name"]

            again = await systems.register_system.asyncio_detailed(client=client, body=manifest)
            assert again.status_code == 409
            assert isinstance(again.parsed, models.ErrorBody)
            assert "already registered" in again.parsed.error.message
