"""Migrations: the Alembic schema is exactly the SQLModel tables, from any working directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from db.engine import init_db, make_engine
from db.tables import TABLES, SystemRow

HEAD = "0014"


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    """Migrating to head creates exactly the model tables, with nothing left to autogenerate."""
    names = set(inspect(engine).get_table_names()) - {"alembic_version", "sqlite_sequence"}
    assert names == {table.name for table in TABLES}
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SystemRow.metadata) == []


def test_init_db_is_repeatable_and_independent_of_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """init_db works from any directory, creates the SQLite parent folder and can run again."""
    monkeypatch.chdir(tmp_path)
    engine = make_engine(f"sqlite:///{tmp_path}/nested/dir/threshold.db")
    init_db(engine)
    init_db(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == HEAD
    engine.dispose()


def test_postgres_urls_use_psycopg() -> None:
    """A plain postgresql:// URL is served by the psycopg 3 driver with pre-ping."""
    engine = make_engine("postgresql://user@db.example:5432/threshold")
    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.pool._pre_ping
    with pytest.raises(ValueError, match="database_url"):
        make_engine("mysql://user@host/db")


def test_concurrent_init_db_calls_do_not_collide(database_url: str) -> None:
    """Several processes starting at once (API replicas, workers) migrate the database once."""
    code = (
        "import sys; from db.engine import init_db, make_engine; init_db(make_engine(sys.argv[1]))"
    )
    starts = [
        subprocess.Popen([sys.executable, "-c", code, database_url], stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    try:
        errors = [process.communicate(timeout=120)[1] for process in starts]
    finally:
        for process in starts:
            process.kill()
    assert [process.returncode for process in starts] == [0, 0, 0], errors
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == HEAD
    engine.dispose()
