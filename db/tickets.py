"""Change-request tickets: the local tracker (THR-1, THR-2, …) and what was sent to Jira."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from db.tables import TicketEventRow, TicketRow, utcnow

LOCAL_PREFIX = "THR"
LOCAL = "local"
JIRA = "jira"
ALLOCATION_ATTEMPTS = 5
ALLOCATION_LOCK = 0x7448525449434B54  # PostgreSQL advisory lock key held while numbering


class TicketDraft(BaseModel):
    """What a new ticket says, before it has a key."""

    model_config = ConfigDict(frozen=True)
    request_id: str
    system_id: str
    kind: str
    summary: str
    description: str

    def row(
        self, *, key: str, tracker: str, number: int | None = None, url: str | None = None
    ) -> TicketRow:
        """The table row for this draft under `key`."""
        return TicketRow(
            **self.model_dump(), key=key, tracker=tracker, number=number, url=url, status="open"
        )


def get_ticket(session: Session, *, request_id: str) -> TicketRow | None:
    """The ticket of an approval request, or None."""
    return session.get(TicketRow, request_id)


def get_ticket_by_key(session: Session, *, key: str) -> TicketRow | None:
    """A ticket by its key (THR-3, GOV-12), or None."""
    return session.exec(select(TicketRow).where(TicketRow.key == key)).first()


def add_jira_ticket(session: Session, *, draft: TicketDraft, key: str, url: str) -> TicketRow:
    """Remember the Jira issue of a request unless one is known already (no commit)."""
    existing = get_ticket(session, request_id=draft.request_id)
    if existing is not None:
        return existing
    row = draft.row(key=key, tracker=JIRA, url=url)
    session.add(row)
    session.flush()
    return row


def open_local_ticket(engine: Engine, *, draft: TicketDraft) -> TicketRow:
    """Give the request a THR-<n> ticket once; concurrent openers take turns for a number."""
    for _ in range(ALLOCATION_ATTEMPTS):
        with Session(engine) as session:
            if session.get_bind().dialect.name == "postgresql":  # SQLite: BEGIN IMMEDIATE
                session.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": ALLOCATION_LOCK}
                )
            existing = get_ticket(session, request_id=draft.request_id)
            if existing is not None:
                return existing
            last = session.exec(
                select(func.max(TicketRow.number)).where(TicketRow.tracker == LOCAL)
            ).one()
            number = int(last or 0) + 1
            row = draft.row(key=f"{LOCAL_PREFIX}-{number}", tracker=LOCAL, number=number)
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                continue  # another request took the number (or this one raced itself): re-read
            session.refresh(row)
            return row
    raise RuntimeError(f"could not allocate a local ticket for {draft.request_id}; retry")


def ticket_events(session: Session, *, request_id: str) -> set[str]:
    """Events already delivered to a request's ticket."""
    rows = session.exec(select(TicketEventRow.event).where(TicketEventRow.request_id == request_id))
    return set(rows)


def remember_ticket_event(session: Session, *, request_id: str, event: str, body: str) -> None:
    """Record that an event reached the ticket; a repeat is ignored (no commit)."""
    if session.get(TicketEventRow, (request_id, event)) is None:
        session.add(TicketEventRow(request_id=request_id, event=event, body=body))
        session.flush()


def set_ticket_status(session: Session, *, request_id: str, status: str) -> None:
    """Move a ticket to `open`, `done` or `rejected` (no commit)."""
    row = get_ticket(session, request_id=request_id)
    if row is not None and row.status != status:
        row.status, row.updated_at = status, utcnow()
        session.add(row)
        session.flush()


def comments(session: Session, *, request_id: str) -> list[TicketEventRow]:
    """Everything delivered to a ticket, oldest first."""
    query = select(TicketEventRow).where(TicketEventRow.request_id == request_id)
    return list(session.exec(query.order_by(col(TicketEventRow.at), col(TicketEventRow.event))))


def list_tickets(
    session: Session,
    *,
    system_id: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[TicketRow], int]:
    """One page of tickets, newest first, and how many match in total."""
    conditions = []
    if system_id:
        conditions.append(TicketRow.system_id == system_id)
    if status:
        conditions.append(TicketRow.status == status)
    total = session.exec(select(func.count()).select_from(TicketRow).where(*conditions)).one()
    query = select(TicketRow).where(*conditions)
    query = query.order_by(col(TicketRow.created_at).desc(), col(TicketRow.key))
    rows = list(session.exec(query.offset(offset).limit(limit)))
    return rows, int(total)
