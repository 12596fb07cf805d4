"""The dormancy sweep's reads and writes: pages of systems, one finding per episode."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select
from sqlmodel import Session

from db.dormancy import dormancy, store_findings, sweep_page
from db.projection import commit_batch
from db.tables import ACTION_FINDINGS
from domain.contracts import RecordBatch
from domain.dormancy import fresh
from domain.lifecycle import LifecycleState
from tests.db.conftest import NOW, credential, system_view

LATER = NOW + timedelta(days=45)


def _register(engine: Engine, system_id: str, state: LifecycleState) -> None:
    """Project one system holding a production credential it never used."""
    view = system_view(
        system_id, state=state, credentials=[credential(f"{system_id}-key", "production")]
    )
    commit_batch(engine, batch=RecordBatch(system=view))


def test_the_sweep_reads_pages_of_systems_in_id_order(engine: Engine) -> None:
    """Three idle systems in pages of two: two, then one and no next page; retired ones are
    not read."""
    for name in ("sys-a", "sys-b", "sys-c"):
        _register(engine, name, LifecycleState.production)
    _register(engine, "sys-d", LifecycleState.retired)
    with Session(engine) as session:
        first, after = sweep_page(session, now=LATER, days=30, after="", limit=2)
        assert [s.system_id for s in first] == ["sys-a", "sys-b"] and after == "sys-b"
        second, after = sweep_page(session, now=LATER, days=30, after="sys-b", limit=2)
        assert [s.system_id for s in second] == ["sys-c"] and after is None
    [key, system] = first[0].items
    assert key.credential_id == "sys-a-key" and key.finding and key.idle_days == 45
    assert system.credential_id is None and not system.finding


def test_a_finding_is_stored_once_per_episode(engine: Engine) -> None:
    """Storing the same sweep's findings twice keeps one row; a pilot's idle credential is
    none; the listing shows no review before the sweep's ticket exists."""
    _register(engine, "sys-a", LifecycleState.production)
    _register(engine, "sys-p", LifecycleState.pilot)
    with Session(engine) as session:
        found = dormancy(session, now=LATER, days=30)
    assert all(d.review is None for d in found)
    assert store_findings(engine, found, days=30, now=LATER) == 1
    assert store_findings(engine, found, days=30, now=LATER + timedelta(days=1)) == 0
    with Session(engine) as session:
        rows = session.execute(select(ACTION_FINDINGS)).all()
    assert [(r.system_id, r.code, r.credential_id, r.nhi) for r in rows] == [
        ("sys-a", "credential_dormant", "sys-a-key", "NHI1")
    ]
    assert "revoke it or record why it is kept" in rows[0].message


def test_a_system_whose_episodes_stand_is_not_told_again(engine: Engine) -> None:
    """A system already holding the episodes this sweep finds is left out of the page; one
    whose episode ended (no longer dormant) is in it, with no items."""
    _register(engine, "sys-a", LifecycleState.production)
    with Session(engine) as session:
        [told], _ = sweep_page(session, now=LATER, days=30, after="", limit=10)
    _, episodes = fresh({}, told.items)
    view = system_view(
        "sys-a",
        version=2,
        state=LifecycleState.production,
        credentials=[credential("sys-a-key", "production")],
    ).model_copy(update={"dormancy": episodes})
    commit_batch(engine, batch=RecordBatch(system=view))
    with Session(engine) as session:
        assert sweep_page(session, now=LATER, days=30, after="", limit=10) == ([], None)
        [ended], _ = sweep_page(session, now=NOW + timedelta(days=1), days=30, after="", limit=10)
    assert ended.system_id == "sys-a" and ended.items == []


def test_an_empty_estate_is_one_empty_page(engine: Engine) -> None:
    """No systems: nothing to tell and no next page."""
    with Session(engine) as session:
        assert sweep_page(session, now=LATER, days=30, after="", limit=200) == ([], None)
