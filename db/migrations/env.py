"""Alembic environment: runs on the connection `db.engine.init_db` hands over (or the URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from db.engine import make_engine
from db.tables import SystemRow

target_metadata = SystemRow.metadata


def run(connection: Connection) -> None:
    """Run the migrations on one connection."""
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    """Use the caller's connection, or build an engine from `sqlalchemy.url` (alembic CLI)."""
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url, or call db.engine.init_db(engine)")
    engine = make_engine(url)
    with engine.begin() as conn:
        run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them online")
main()
