"""Hostile input is a 4xx naming the field, never a server error: depth, size, bounds, ids."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from api.documents import MAX_DEPTH
from tests.harness import REQUESTER, make_settings, running_stack

pytestmark = pytest.mark.devserver
DEEP = 10_000


async def test_deeply_nested_json_and_yaml_are_refused_with_the_depth_limit(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """10,000-deep JSON (registration, events) and YAML (registration) answer 422 naming 64."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    deep_json = b"[" * DEEP + b"]" * DEEP
    deep_object = b'{"id": ' + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"}"
    deep_yaml = b"id: " + b"[" * DEEP + b"]" * DEEP
    async with running_stack(dev_env.client, settings) as stack:
        for path, body, kind in (
            ("/systems", deep_json, "application/json"),
            ("/systems", deep_object, "application/json"),
            ("/systems", deep_yaml, "application/yaml"),
            ("/events", deep_object, "application/cloudevents+json"),
            ("/events", deep_json, "application/cloudevents-batch+json"),
        ):
            answer = await stack.call(
                "POST", path, REQUESTER, content=body, headers={"Content-Type": kind}
            )
            assert answer.status_code == 422, (path, kind, answer.text[:300])
            error = answer.json()["error"]
            assert str(MAX_DEPTH) in error["message"]
            assert error["problems"][0]["field"] == "(body)"


async def test_yaml_aliases_are_refused_before_they_expand(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A YAML alias bomb is a 422 that names the alias, answered without expanding it."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    bomb = "\n".join(lines).encode()
    async with running_stack(dev_env.client, settings) as stack:
        answer = await stack.call(
            "POST", "/systems", REQUESTER, content=bomb, headers={"Content-Type": "text/yaml"}
        )
        assert answer.status_code == 422
        assert "alias" in answer.json()["error"]["message"]


async def test_an_empty_action_batch_records_nothing_and_answers_200(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """`POST /actions` with `[]` (or empty JSON lines) is a 200 with zero accepted."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    async with running_stack(dev_env.client, settings) as stack:
        for body, kind in ((b"[]", "application/json"), (b"\n", "application/x-ndjson")):
            answer = await stack.call(
                "POST", "/actions", REQUESTER, content=body, headers={"Content-Type": kind}
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["accepted"] == 0
            assert answer.json()["duplicates"] == 0


async def test_huge_offsets_are_refused_and_every_integer_query_parameter_is_bounded(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """offset=10^20 is a 422 naming `offset`, and the OpenAPI document bounds every int query."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    async with running_stack(dev_env.client, settings) as stack:
        for path in ("/systems", "/requests", "/audit/events", "/tickets"):
            answer = await stack.call(
                "GET", path, REQUESTER, params={"offset": "99999999999999999999"}
            )
            assert answer.status_code == 422, (path, answer.text[:300])
            assert answer.json()["error"]["problems"][0]["field"] == "offset"
        for window in ("inf", "1e300d", "nan"):
            answer = await stack.call("GET", "/systems", REQUESTER, params={"due_within": window})
            assert answer.status_code == 422, (window, answer.text[:300])
            assert answer.json()["error"]["problems"][0]["field"] == "due_within"
        document = (await stack.http.get("/openapi.json")).json()
    unbounded = [
        f"{method.upper()} {path} {param['name']}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for param in operation.get("parameters", [])
        if param["schema"].get("type") == "integer" and "maximum" not in param["schema"]
    ]
    assert unbounded == []


async def test_a_malformed_system_id_in_a_path_is_a_422_naming_it(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Credential revoke (and other system paths) with an id no system can have answer 422."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    async with running_stack(dev_env.client, settings) as stack:
        revoke = await stack.call(
            "POST", "/systems/Not%20An%20Id!/credentials/crm/revoke", REQUESTER, json={}
        )
        assert revoke.status_code == 422, revoke.text[:300]
        assert revoke.json()["error"]["problems"][0]["field"] == "system_id"
        show = await stack.call("GET", "/systems/" + "x" * 300, REQUESTER)
        assert show.status_code == 422


class Endless:
    """A request body that would be 200 MB, counting how much of it the server pulled."""

    def __init__(self, total: int = 200_000_000, chunk: int = 64 * 1024) -> None:
        self.total, self.chunk, self.sent = total, chunk, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            self.sent += self.chunk
            yield b" " * self.chunk


async def test_a_200_megabyte_body_is_refused_with_413_without_being_read_whole(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A streamed 200 MB body is cut off at the limit (413), a declared one before any read."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    limit = settings.api.max_body_bytes
    async with running_stack(dev_env.client, settings) as stack:
        streamed = Endless()
        answer = await stack.call("POST", "/systems", REQUESTER, content=streamed)
        assert answer.status_code == 413
        assert answer.json()["error"]["problems"][0]["field"] == "(body)"
        assert streamed.sent <= limit + 2 * streamed.chunk
        declared = Endless()
        answer = await stack.call(
            "POST",
            "/events",
            REQUESTER,
            content=declared,
            headers={"Content-Length": str(declared.total)},
        )
        assert answer.status_code == 413
        assert declared.sent <= declared.chunk
