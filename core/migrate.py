"""`threshold-migrate`: bring the configured database schema to the latest migration."""

from __future__ import annotations

from core.settings import get_settings
from db.engine import get_engine, init_db


def main() -> None:
    """Run Alembic migrations to head on THRESHOLD_DATABASE_URL."""
    settings = get_settings()
    init_db(get_engine(settings.database_url))
    print(f"database schema is current: {settings.database_url.split('@')[-1]}")
