"""PostgreSQL for tests: reachable or not, and a fresh schema per use."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import psycopg

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
    try:
        yield f"{PG_DSN.replace('postgresql://', 'postgresql+psycopg://')}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
