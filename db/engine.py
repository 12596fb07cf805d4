"""Engines for SQLite (default) and PostgreSQL, and Alembic migrations run from code."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlmodel import Session

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
MIGRATION_LOCK = 0x7448524553484F4C  # PostgreSQL advisory lock key held while migrating
READ_ONLY = "threshold_read_only"  # execution option: this connection only reads


def placeholder(dialect: str) -> str:
    """The DBAPI parameter mark for SQL sent straight to the driver (psycopg `%s`, sqlite `?`)."""
    return "%s" if dialect == "postgresql" else "?"


def make_engine(url: str) -> Engine:
    """Create an engine tuned for the URL's database (SQLite or PostgreSQL)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    if backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise ValueError(
        f"database_url {parsed.render_as_string(hide_password=True)!r} is not supported: "
        "use sqlite:///path/to.db or postgresql://user@host/db"
    )


def _sqlite_engine(url: str) -> Engine:
    """SQLite in WAL mode; every transaction takes the write lock up front (BEGIN IMMEDIATE)."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """Set WAL, NORMAL sync and a busy timeout; let SQLAlchemy emit BEGIN itself."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    """Start write-capable transactions so concurrent read-then-write never hits BUSY_SNAPSHOT.

    A read-only connection (`read_session`) begins deferred: in WAL mode it reads a snapshot
    and never queues behind a writer for SQLite's single write lock.
    """
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reads only (never write through it): on SQLite it takes no write lock."""
    with (
        engine.connect() as connection,
        Session(bind=connection.execution_options(**{READ_ONLY: True})) as session,
    ):
        yield session


def read_rows(engine: Engine, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of one SELECT sent straight to the driver (`placeholder` marks), for hot reads.

    No Session, no statement compilation or cache key: a pooled connection and a cursor. On
    SQLite the statement runs outside any transaction (its own snapshot, no write lock, like
    `read_session`); on PostgreSQL the pool rolls back the implicit transaction on return.
    """
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute(sql, tuple(params))
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()
    finally:
        raw.close()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config built in code, pointing at db/migrations (no alembic.ini, no CWD)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def init_db(engine: Engine) -> None:
    """Migrate to the newest schema; safe on every start, even from many processes at once."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        command.upgrade(alembic_config(connection), "head")


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One shared engine per URL for the process."""
    return make_engine(url)
