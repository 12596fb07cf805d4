"""PostgreSQL for tests: reachable or not, and a fresh schema per use."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import psycopg

from db.engine import get_engine

PG_DSN = os.environ.get("THRESHOLD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
SKIP_REASON = "PostgreSQL not reachable on 127.0.0.1:5432 — skipping PostgreSQL tests"


@cache
def postgres_available() -> bool:
    """True when the test database answers."""
    try:
        with psycopg.connect(PG_DSN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A SQLAlchemy URL whose search_path is a new schema, dropped afterwards."""
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{PG_DSN.replace('postgresql://', 'postgresql+psycopg://')}?options=-csearch_path%3D{schema}"
    try:
        yield url
    finally:
        get_engine(url).dispose()  # the process-wide engine's idle connections end with the test
        drop_schema(schema)


def drop_schema(schema: str) -> None:
    """Drop a test schema; a connection a test left inside a transaction is ended, not waited on."""
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '5s'")
        for _ in range(3):
            try:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
                return
            except psycopg.errors.LockNotAvailable:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND state = 'idle in transaction'"
                )
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
