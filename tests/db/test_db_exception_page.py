"""The exceptions page lists exactly the systems that ever had a waiver, from an index."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from db.engine import init_db, make_engine
from db.inventory import HAS_EXCEPTIONS, exception_page
from db.projection import upsert_system
from db.tables import SYSTEMS
from domain.waivers import WaiverStatus
from tests.db.conftest import NOW, system_view
from tests.db.test_db_urgency import waived


def test_exceptions_page_lists_active_and_ended_waivers_only(engine: Engine) -> None:
    """Active and ended waivers are listed (days left only for active ones); a system that
    never had one is not, and a page past the end is empty."""
    views = [system_view(f"plain-{n}") for n in range(5)]
    views += [
        waived("b-active", NOW + timedelta(days=10), WaiverStatus.active, lapsed=False),
        waived("a-expired", NOW - timedelta(days=3), WaiverStatus.expired, lapsed=True),
    ]
    with Session(engine) as session:
        for view in views:
            upsert_system(session, view=view)
        session.commit()
        rows, total = exception_page(session, now=NOW, limit=50, offset=0)
        beyond, _ = exception_page(session, now=NOW, limit=50, offset=2)
    assert total == 2 and [r["system_id"] for r in rows] == ["a-expired", "b-active"]
    assert [r["status"] for r in rows] == ["expired", "active"]
    assert rows[0]["days_left"] is None and rows[1]["days_left"] == 10
    assert beyond == []


def test_sqlite_reads_the_exceptions_page_from_its_index(tmp_path: Path) -> None:
    """The page and its count search the flag's index: no stored view is scanned for text."""
    engine = make_engine(f"sqlite:///{tmp_path}/plan.db")
    init_db(engine)
    marker = HAS_EXCEPTIONS
    statements = [
        select(SYSTEMS.c.id, SYSTEMS.c.view_json).where(marker).order_by(SYSTEMS.c.id).limit(50),
        select(func.count()).select_from(SYSTEMS).where(marker),
    ]
    with engine.connect() as conn:
        for statement in statements:
            sql = statement.compile(conn, compile_kwargs={"literal_binds": True})
            steps = [str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
            assert any("ix_systems_has_exceptions_id" in s for s in steps), steps
            assert not any("TEMP B-TREE" in s for s in steps), steps
    engine.dispose()
