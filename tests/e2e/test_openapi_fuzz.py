"""Property-based fuzzing of every documented operation (schemathesis) against a live stack."""

from __future__ import annotations

import asyncio
import gc
import itertools
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, strategies
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.settings import Settings
from tests.harness import Stack, make_settings, running_stack, serve_api

pytestmark = pytest.mark.devserver
ADMIN = "admin@threshold.local"
EXAMPLES = 25
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
REVOKES_TOKENS = frozenset({"revokeToken"})
KNOWN_FAULTS: dict[str, str] = {}
"""operationId → the bug (owned elsewhere) that still makes it answer 500; expected to fail."""


def token_id(token: str) -> str:
    """The public id inside a Threshold token (`thr_<id>_<secret>`)."""
    return token.split("_")[1]


def fuzz_operation(operation: Any, base: str, admin: str, throwaway: Any) -> str | None:
    """Run EXAMPLES positive and negative cases; the first failure's summary, or None."""
    strategy = strategies.one_of(
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),
    )
    counter = itertools.count()
    revokes = operation.definition.raw.get("operationId") in REVOKES_TOKENS

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=strategy)
    def run(case: Any) -> None:
        if revokes and isinstance(case.path_parameters, dict):
            generated = case.path_parameters.get("token_id")
            # Every other case revokes a fresh throwaway token; none may hit the fuzzer's own.
            if next(counter) % 2 == 0 or generated == token_id(admin):
                case.path_parameters["token_id"] = throwaway()
        headers = {**(case.headers or {}), "Authorization": f"Bearer {admin}"}
        case.call_and_validate(base_url=base, headers=headers, checks=CHECKS, timeout=30)

    try:
        run()
    except (
        Exception,
        BaseExceptionGroup,
    ) as exc:  # a failed check: keep its report, go on with the next operation
        return f"{type(exc).__name__}: {str(exc)[:1500]}"
    return None


def fuzz_all(schema: Any, base: str, admin: str, stack: Stack) -> dict[str, str]:
    """Fuzz every operation; operationId → failure summary for those that failed."""
    serial = itertools.count()

    def throwaway() -> str:
        return token_id(stack.token(f"throwaway-{next(serial)}@example.com", "viewer"))

    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        name = str(operation.definition.raw.get("operationId"))
        failure = fuzz_operation(operation, base, admin, throwaway)
        if failure is not None:
            failures[name] = failure
    return failures


def operation_ids() -> list[str]:
    """Every documented operation id (the app is built, not started)."""
    app = create_app(Settings(database_url="sqlite://"))
    return [op["operationId"] for item in app.openapi()["paths"].values() for op in item.values()]


@pytest.fixture(scope="module")
async def fuzzed(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Fuzz every operation once against a live stack (uvicorn on 127.0.0.1, dev server)."""
    tmp = tmp_path_factory.mktemp("fuzz")
    settings = make_settings(f"sqlite:///{tmp}/fuzz.db", tmp)
    async with (
        running_stack(dev_env.client, settings) as stack,
        serve_api(stack.app, lifespan="off") as base,  # type: ignore[arg-type]
    ):
        admin = stack.tokens[ADMIN]
        document = (await stack.http.get("/openapi.json")).json()
        schema = schemathesis.openapi.from_dict(document)
        failures = await asyncio.to_thread(fuzz_all, schema, base, admin, stack)
        still = await stack.call("GET", "/tokens", ADMIN)
        assert still.status_code == 200, "the fuzzer revoked its own admin token"
    settle_after_hypothesis()
    return failures


def settle_after_hypothesis() -> None:
    """Leave the process as the workflow tests after this module need it.

    Temporal's deadlock detector raises in a workflow thread that has not yielded for 2 s. After
    the fuzz, a full collection walked ~360k objects (0.5 s here, more on a busy machine), and an
    interrupt landing in a gc callback (Hypothesis installs one for good) or a weakref callback
    became an "unraisable" exception that failed an unrelated later test. So: drop Hypothesis's
    callback, collect, and freeze the survivors out of later collections.
    """
    from hypothesis.internal.conjecture import junkdrawer

    gc.callbacks[:] = [c for c in gc.callbacks if c.__module__ != junkdrawer.__name__]
    junkdrawer._gc_initialized = False  # Hypothesis re-installs it if it runs again
    gc.collect()
    gc.freeze()


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(name, marks=pytest.mark.xfail(reason=KNOWN_FAULTS[name], strict=True))
        if name in KNOWN_FAULTS
        else name
        for name in operation_ids()
    ],
)
def test_operation_never_answers_500_or_off_its_documented_schema(
    fuzzed: dict[str, str], operation: str
) -> None:
    """25 generated requests (valid and invalid) to this operation never get a 5xx, and every
    answer has a documented status and matches its documented schema."""
    assert operation not in fuzzed, fuzzed[operation]
