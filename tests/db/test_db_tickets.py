"""The local tracker: THR-<n> keys, one ticket per request, events remembered once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from sqlmodel import Session

from db.tickets import (
    TicketDraft,
    add_jira_ticket,
    comments,
    get_ticket_by_key,
    list_tickets,
    open_local_ticket,
    remember_ticket_event,
    set_ticket_status,
    ticket_events,
)


def draft(request_id: str, system_id: str = "s1") -> TicketDraft:
    """A ticket draft for one request."""
    return TicketDraft(
        request_id=request_id,
        system_id=system_id,
        kind="promotion",
        summary=f"[Threshold] {request_id}",
        description="what is asked",
    )


def test_local_tickets_are_numbered_once_per_request(engine: Engine) -> None:
    """Opening a request's ticket again returns the same THR key; the next request gets the next number."""
    first = open_local_ticket(engine, draft=draft("s1-1"))
    again = open_local_ticket(engine, draft=draft("s1-1"))
    second = open_local_ticket(engine, draft=draft("s2-1", "s2"))
    assert (first.key, again.key, second.key) == ("THR-1", "THR-1", "THR-2")
    assert first.tracker == "local" and first.status == "open"


def test_concurrent_openers_never_share_a_number(engine: Engine) -> None:
    """Twenty requests opening tickets at once (plus a repeat of each) get twenty distinct keys."""
    ids = [f"s{n}-1" for n in range(20)] * 2
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = list(
            pool.map(lambda rid: (rid, open_local_ticket(engine, draft=draft(rid)).key), ids)
        )
    by_request = dict(keys)
    assert all(by_request[rid] == key for rid, key in keys)
    assert sorted(by_request.values(), key=lambda k: int(k[4:])) == [
        f"THR-{n}" for n in range(1, 21)
    ]


def test_events_are_remembered_once_and_listed_in_order(engine: Engine) -> None:
    """A repeated event is stored once; status changes and filters work on the list."""
    with Session(engine) as session:
        add_jira_ticket(session, draft=draft("s1-1"), key="GOV-7", url="https://jira/browse/GOV-7")
        add_jira_ticket(session, draft=draft("s1-1"), key="GOV-8", url="https://jira/browse/GOV-8")
        for event in ("decision-1", "decision-1", "closed"):
            remember_ticket_event(session, request_id="s1-1", event=event, body=event)
        set_ticket_status(session, request_id="s1-1", status="done")
        session.commit()
    open_local_ticket(engine, draft=draft("s2-1", "s2"))
    with Session(engine) as session:
        assert ticket_events(session, request_id="s1-1") == {"decision-1", "closed"}
        assert [c.event for c in comments(session, request_id="s1-1")] == ["decision-1", "closed"]
        jira = get_ticket_by_key(session, key="GOV-7")
        assert jira is not None and jira.status == "done" and jira.tracker == "jira"
        assert get_ticket_by_key(session, key="GOV-8") is None
        done, total = list_tickets(session, status="done")
        assert [t.key for t in done] == ["GOV-7"] and total == 1
        mine, _ = list_tickets(session, system_id="s2")
        assert [t.key for t in mine] == ["THR-1"]
