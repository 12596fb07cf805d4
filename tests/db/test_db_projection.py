"""The projection: idempotent record batches, version ordering and the list queries."""

from __future__ import annotations

from sqlalchemy import Engine, Table, func, select
from sqlmodel import Session

from db.engine import read_session
from db.projection import (
    commit_batch,
    get_request,
    get_system,
    list_requests,
    list_systems,
    shared_credentials,
    upsert_system,
)
from db.queries import system_sharing
from db.tables import AUDIT_ENTRIES, SYSTEM_CREDENTIALS, SYSTEMS
from domain.approvals import Decision, RequestStatus
from domain.contracts import RecordBatch
from domain.lifecycle import LifecycleState
from domain.policy import Role
from tests.db.conftest import NOW, approval_request, audit_event, credential, system_view


def _count(engine: Engine, table: Table) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def test_applying_the_same_batch_twice_writes_nothing_new(engine: Engine) -> None:
    """A retried batch leaves the projection and the ledger exactly as the first apply did."""
    view = system_view("alpha-one", version=3, credentials=[credential("key-a")])
    request = approval_request("req-1", "alpha-one")
    events = [audit_event("alpha-one", n) for n in (1, 2)]
    batch = RecordBatch(events=events, system=view, request=request, request_version=1)
    commit_batch(engine, batch=batch)
    commit_batch(engine, batch=batch)
    assert _count(engine, AUDIT_ENTRIES) == 2
    assert _count(engine, SYSTEMS) == 1
    assert _count(engine, SYSTEM_CREDENTIALS) == 1
    with Session(engine) as session:
        assert get_system(session, system_id="alpha-one") == view
        assert get_request(session, request_id="req-1") == request
        assert get_system(session, system_id="missing") is None


def test_an_older_version_never_overwrites_a_newer_one(engine: Engine) -> None:
    """Batches applied out of order keep the newest system view and request version."""
    newer = system_view("alpha-one", version=5, state=LifecycleState.production)
    older = system_view("alpha-one", version=4, credentials=[credential("key-old")])
    decided = approval_request("req-1", "alpha-one", status=RequestStatus.approved)
    pending = approval_request("req-1", "alpha-one")
    commit_batch(engine, batch=RecordBatch(system=newer, request=decided, request_version=2))
    commit_batch(engine, batch=RecordBatch(system=older, request=pending, request_version=1))
    with Session(engine) as session:
        stored = get_system(session, system_id="alpha-one")
        request = get_request(session, request_id="req-1")
    assert stored is not None and stored.version == 5
    assert stored.state is LifecycleState.production
    assert request is not None and request.status is RequestStatus.approved
    assert _count(engine, SYSTEM_CREDENTIALS) == 0
    commit_batch(engine, batch=RecordBatch(system=system_view("alpha-one", version=6)))
    with Session(engine) as session:
        assert list_systems(session)[0][0].version == 6


def _seed_systems(engine: Engine) -> None:
    for i in range(12):
        owner = "Bea@Example.com" if i % 3 == 0 else "other@example.com"
        view = system_view(
            f"sys-{i:02d}",
            business_owner=owner,
            technical_owner="ted@example.com" if i == 1 else None,
            data_classification="regulated" if i % 2 else "internal",
            name=f"Support bot {i}" if i < 4 else f"Summariser {i}",
        )
        commit_batch(engine, batch=RecordBatch(system=view))


def test_list_systems_filters_and_pages(engine: Engine) -> None:
    """Systems list by state, risk tier, owner and search, paged with a total on the server."""
    _seed_systems(engine)
    with Session(engine) as session:
        page, total = list_systems(session, limit=5, offset=10)
        assert ([s.id for s in page], total) == (["sys-10", "sys-11"], 12)
        high, total = list_systems(session, risk_tier="high")
        assert total == 6 and all(s.risk_tier == "high" for s in high)
        mine, total = list_systems(session, owner="bea@EXAMPLE.com")
        assert [s.id for s in mine] == ["sys-00", "sys-03", "sys-06", "sys-09"]
        tech, _ = list_systems(session, owner="ted@example.com")
        assert [s.id for s in tech] == ["sys-01"]
        found, total = list_systems(session, search="SUPPORT", risk_tier="high")
        assert ([s.id for s in found], total) == (["sys-01", "sys-03"], 2)
        assert list_systems(session, search="sys-1")[1] == 2
        assert list_systems(session, search="%")[1] == 0
        assert list_systems(session, state="production")[1] == 0


def test_shared_credentials_maps_each_credential_to_its_systems(engine: Engine) -> None:
    """Credential ids map to every live system declaring them; retired systems drop out."""
    views = [
        system_view("alpha-one", credentials=[credential("key-a"), credential("key-b")]),
        system_view("beta-two", credentials=[credential("key-a")]),
        system_view("gamma-three", credentials=[credential("key-b")]),
    ]
    for view in views:
        commit_batch(engine, batch=RecordBatch(system=view))
    retired = system_view("gamma-three", version=2, state=LifecycleState.retired)
    retired = retired.model_copy(update={"manifest": views[2].manifest})
    commit_batch(engine, batch=RecordBatch(system=retired))
    found = shared_credentials(engine, credential_ids=["key-a", "key-b", "key-z"])
    assert found == {"key-a": ["alpha-one", "beta-two"], "key-b": ["alpha-one"]}
    assert shared_credentials(engine, credential_ids=[]) == {}


def test_system_sharing_covers_the_system_and_the_event_credentials(engine: Engine) -> None:
    """One read gives the sharing of a system's own credentials plus an event's new ones."""
    views = [
        system_view("alpha-one", credentials=[credential("key-a")]),
        system_view("beta-two", credentials=[credential("key-a"), credential("key-c")]),
        system_view("gamma-three", credentials=[credential("key-b")]),
    ]
    for view in views:
        commit_batch(engine, batch=RecordBatch(system=view))
    own = system_sharing(engine, system_id="alpha-one")
    assert own == {"key-a": ["alpha-one", "beta-two"]}
    both = system_sharing(engine, system_id="alpha-one", credential_ids=["key-b", "key-z"])
    assert both == {"key-a": ["alpha-one", "beta-two"], "key-b": ["gamma-three"]}
    assert system_sharing(engine, system_id="nobody") == {}
    expected = shared_credentials(engine, credential_ids=["key-a", "key-b", "key-c"])
    found = system_sharing(engine, system_id="beta-two", credential_ids=["key-b"])
    assert found == expected


def test_read_session_reads_while_another_connection_writes(engine: Engine) -> None:
    """A read does not wait for a writer's open transaction, and sees committed rows only."""
    commit_batch(engine, batch=RecordBatch(system=system_view("alpha-one")))
    with Session(engine) as writer:
        upsert_system(writer, view=system_view("beta-two"))  # holds the write lock, uncommitted
        with read_session(engine) as reader:
            assert [row.id for row in list_systems(reader)[0]] == ["alpha-one"]
        writer.commit()
    with read_session(engine) as reader:
        assert [row.id for row in list_systems(reader)[0]] == ["alpha-one", "beta-two"]


def test_list_requests_finds_what_awaits_a_principal(engine: Engine) -> None:
    """A person sees requests they may decide and have not decided yet, with a total."""
    decided = Decision(principal="bea@example.com", role=Role.business_owner, approve=True, at=NOW)
    requests = [
        approval_request("req-1", "alpha-one"),
        approval_request("req-2", "alpha-one", decisions=[decided]),
        approval_request("req-3", "beta-two", status=RequestStatus.rejected),
    ]
    for request in requests:
        commit_batch(engine, batch=RecordBatch(request=request, request_version=1))
    with Session(engine) as session:
        mine, total = list_requests(session, principal="BEA@example.com")
        assert ({r.id for r in mine}, total) == ({"req-1", "req-3"}, 2)
        fallback, _ = list_requests(session, principal="gov@example.com", status="pending")
        assert {r.id for r in fallback} == {"req-1", "req-2"}
        by_system, total = list_requests(session, system_id="alpha-one", limit=1)
        assert (len(by_system), total) == (1, 2)
        assert list_requests(session, principal="rick@example.com") == ([], 0)
