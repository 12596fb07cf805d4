"""The estate's urgency order across every page: overdue first, then least time left, then id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from db.dashboard import EstateQuery, page_ids, page_views
from db.engine import init_db, make_engine
from db.projection import upsert_system
from db.tables import SYSTEMS
from domain.contracts import SystemView
from domain.lifecycle import LifecycleState
from domain.policy import RiskTier
from domain.recertification import RecertificationStatus
from domain.waivers import GapException, WaiverStatus
from tests.db.conftest import NOW, approval_request, system_view

PLAIN = 60
"""Systems without any deadline: more than a page, so the urgent ones must be pulled forward."""


def recertified(system_id: str, due: datetime, **fields: Any) -> SystemView:
    """A production system whose recertification is due at `due` (overdue when long past)."""
    status = RecertificationStatus(
        risk_tier=RiskTier.medium,
        cadence_days=180,
        period_start=due - timedelta(days=180),
        due_at=due,
        overdue_at=due + timedelta(days=7),
        overdue_since=due + timedelta(days=7) if due + timedelta(days=7) < NOW else None,
    )
    view = system_view(system_id, state=LifecycleState.production, **fields)
    return view.model_copy(update={"recertification": status})


def waived(system_id: str, until: datetime, status: WaiverStatus, lapsed: bool) -> SystemView:
    """A production system with one exception (expired with its gap still there: `lapsed`)."""
    exception = GapException(
        gap="no_logging_policy",
        until=until,
        reason="logging lands next sprint",
        requested_by="rick@example.com",
        requested_at=until - timedelta(days=30),
        request_id=f"{system_id}-1",
        status=status,
    )
    view = system_view(system_id, state=LifecycleState.production)
    update: dict[str, Any] = {"exceptions": [exception]}
    if lapsed:
        update["lapsed_gaps"] = ["no_logging_policy"]
    return view.model_copy(update=update)


def pending(system_id: str, escalate_at: datetime) -> SystemView:
    """A pilot system whose promotion request escalates at `escalate_at`."""
    request = approval_request(
        f"{system_id}-1", system_id, escalate_at=escalate_at, expires_at=escalate_at + timedelta(7)
    )
    view = system_view(system_id, state=LifecycleState.promotion_pending)
    return view.model_copy(update={"pending_request": request})


def estate(engine: Engine) -> None:
    """Sixty systems with no deadline (ids sorting first), and a few with deadlines."""
    views = [system_view(f"a-plain-{n:03d}") for n in range(PLAIN)]
    views += [
        recertified("z-overdue", NOW - timedelta(days=20)),
        waived("y-lapsed", NOW - timedelta(days=3), WaiverStatus.expired, lapsed=True),
        pending("x-escalated", NOW - timedelta(days=1)),
        pending("w-soon", NOW + timedelta(days=2)),
        waived("v-expiring", NOW + timedelta(days=9), WaiverStatus.active, lapsed=False),
        recertified("u-later", NOW + timedelta(days=40)),
        waived("t-revoked", NOW - timedelta(days=50), WaiverStatus.revoked, lapsed=False),
        waived("s-retired", NOW - timedelta(days=90), WaiverStatus.active, lapsed=False).model_copy(
            update={"state": LifecycleState.retired}
        ),
    ]
    with Session(engine) as session:
        for view in views:
            upsert_system(session, view=view)
        session.commit()


def ids(engine: Engine, query: EstateQuery) -> tuple[list[str], int]:
    """The system ids of one estate page, in order, and the total."""
    with Session(engine) as session:
        rows, total = page_views(session, query)
    return [SystemView.model_validate_json(r.view_json).system_id for r in rows], total


URGENT = ["z-overdue", "y-lapsed", "x-escalated", "w-soon", "v-expiring", "u-later"]


def test_overdue_systems_lead_page_one_then_least_time_left(engine: Engine) -> None:
    """Page 1 opens with the overdue systems (longest overdue first), then the nearest deadline,
    ahead of 60 systems whose ids sort first; an ended waiver or a retired system is no deadline."""
    estate(engine)
    first, total = ids(engine, EstateQuery(limit=50))
    assert total == PLAIN + 8
    assert first[:6] == URGENT
    assert first[6:9] == ["a-plain-000", "a-plain-001", "a-plain-002"]
    assert "t-revoked" not in first and "s-retired" not in first


def test_page_two_continues_the_order(engine: Engine) -> None:
    """Page 2 starts where page 1 ended, and the pages together list every system once."""
    estate(engine)
    first, _ = ids(engine, EstateQuery(limit=50))
    second, _ = ids(engine, EstateQuery(limit=50, offset=50))
    assert second[0] == "a-plain-044" and second[-2:] == ["s-retired", "t-revoked"]
    assert len(first + second) == len(set(first + second)) == PLAIN + 8


def test_filters_keep_the_urgency_order(engine: Engine) -> None:
    """Filtering by state, tier, owner or search lists the matching systems in the same order."""
    estate(engine)
    production, _ = ids(engine, EstateQuery(state="production", limit=4))
    assert production == ["z-overdue", "y-lapsed", "v-expiring", "u-later"]
    running, _ = ids(engine, EstateQuery(env="pilot", limit=3))
    assert running == ["x-escalated", "w-soon", "a-plain-000"]
    searched, total = ids(engine, EstateQuery(search="-", limit=2, offset=1))
    assert searched == ["y-lapsed", "x-escalated"] and total == PLAIN + 8
    tiered, _ = ids(engine, EstateQuery(tier=_tier(engine, "z-overdue"), limit=1))
    assert tiered == ["z-overdue"]
    overdue, total = ids(engine, EstateQuery(overdue=True))
    assert overdue == ["z-overdue"] and total == 1


def test_a_newer_view_moves_the_system_in_the_order(engine: Engine) -> None:
    """Recertifying the overdue system (a new cycle a year out) moves it behind the others."""
    estate(engine)
    later = recertified("z-overdue", NOW + timedelta(days=365))
    with Session(engine) as session:
        upsert_system(session, view=later.model_copy(update={"version": 2}))
        session.commit()
    first, _ = ids(engine, EstateQuery(limit=7))
    assert first == [*URGENT[1:], "z-overdue", "a-plain-000"]


def _tier(engine: Engine, system_id: str) -> str:
    with Session(engine) as session:
        found = session.execute(select(SYSTEMS.c.risk_tier).where(SYSTEMS.c.id == system_id))
        return str(found.scalar_one())


def test_sqlite_pages_the_order_from_an_index(tmp_path: Path) -> None:
    """On SQLite no estate page reads every stored row: the unfiltered, state, tier, owner, search
    and overdue pages read their order straight from an index (no sort); expiring and env search
    a filter's index and sort only what matches."""
    engine = make_engine(f"sqlite:///{tmp_path}/plan.db")
    init_db(engine)
    now = datetime.now(UTC)
    ordered = [
        EstateQuery(),
        EstateQuery(state="pilot", offset=100),
        EstateQuery(tier="high"),
        EstateQuery(owner="bea@example.com"),
        EstateQuery(search="bulk"),
        EstateQuery(overdue=True),
    ]
    filtered = [
        EstateQuery(expiring_before=now + timedelta(days=14)),
        EstateQuery(env="production"),
    ]
    with engine.connect() as conn:
        for query in ordered + filtered:
            sql = page_ids(query, now).compile(conn, compile_kwargs={"literal_binds": True})
            steps = [str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
            scans = [s for s in steps if s.startswith("SCAN systems")]
            assert all("COVERING INDEX" in s for s in scans), (query, steps)
            if query in ordered:
                assert not any("TEMP B-TREE" in s for s in steps), (query, steps)
    engine.dispose()


def test_migrating_from_0013_keys_the_systems_already_stored(database_url: str) -> None:
    """A database from before migration 0014 gets its stored systems keyed and flagged by the
    same rule the projection writes with: the urgent one leads the first page at once."""
    from alembic import command
    from sqlalchemy import table

    from db.engine import alembic_config

    engine = make_engine(database_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0013")
    views = [
        system_view("a-plain"),
        waived("b-waived", NOW + timedelta(days=9), WaiverStatus.active, lapsed=False),
    ]
    old = table("systems", *[SYSTEMS.c[name]._copy() for name in OLD_COLUMNS])
    with engine.begin() as conn:
        for view in views:
            conn.execute(old.insert().values(**old_row(view)))
        command.upgrade(alembic_config(conn), "head")
    first, _ = ids(engine, EstateQuery())
    assert first == ["b-waived", "a-plain"]
    with engine.connect() as conn:
        flagged = conn.execute(select(SYSTEMS.c.id).where(SYSTEMS.c.has_exceptions.is_(True)))
        assert list(flagged.scalars()) == ["b-waived"]
        what = conn.execute(select(SYSTEMS.c.next_deadline).where(SYSTEMS.c.id == "b-waived"))
        assert what.scalar_one() == "exception expiry"
    engine.dispose()


OLD_COLUMNS = (
    *("id", "name", "state", "environment", "risk_tier", "applies"),
    *("view_json", "version", "updated_at"),
)


def old_row(view: SystemView) -> dict[str, Any]:
    """The columns a system row had before migration 0014."""
    return {
        "id": view.system_id,
        "name": view.manifest.name,
        "state": view.state.value,
        "environment": view.manifest.environment.value,
        "risk_tier": view.requirements.risk_tier.value,
        "applies": view.requirements.applies,
        "view_json": view.model_dump_json(),
        "version": view.version,
        "updated_at": view.updated_at,
    }
