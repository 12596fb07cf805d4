"""The query projection: systems and approval requests written from workflow record batches."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from db.engine import placeholder
from db.ledger import append_events
from db.queries import (
    SystemSummary,
    get_request,
    get_system,
    list_requests,
    list_systems,
    shared_credentials,
)
from db.tables import APPROVAL_REQUESTS, SYSTEMS, as_utc
from domain.approvals import ApprovalRequest
from domain.contracts import RecordBatch, SystemView
from domain.deadlines import next_deadline, urgency_key
from domain.waivers import next_expiry


def apply_batch(session: Session, *, batch: RecordBatch) -> None:
    """Apply one batch (projection upserts and audit appends); idempotent, no commit."""
    if batch.system is not None:
        upsert_system(session, view=batch.system)
    if batch.request is not None:
        upsert_request(session, request=batch.request, version=batch.request_version)
    if batch.events:
        append_events(session, events=batch.events)


def commit_batch(engine: Engine, *, batch: RecordBatch) -> None:
    """Apply one batch in its own transaction; errors propagate (Temporal retries)."""
    with Session(engine) as session:
        apply_batch(session, batch=batch)
        session.commit()


@lru_cache(maxsize=16)
def _newer_wins_statement(dialect: str, table: Table, names: tuple[str, ...]) -> Any:
    """The upsert for `names` on `dialect`, built once: values are bound per execution."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values({name: bindparam(name) for name in names})
    return stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={name: stmt.excluded[name] for name in names if name != "id"},
        where=table.c.version < stmt.excluded.version,
    ).returning(table.c.id)


def _newer_wins(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """Insert a row or overwrite it when `version` is newer; True when the row was written."""
    dialect = session.get_bind().dialect.name
    stmt = _newer_wins_statement(dialect, table, tuple(values))
    return session.execute(stmt, values).first() is not None


def upsert_system(session: Session, *, view: SystemView) -> bool:
    """Store a system view unless a newer or equal version is stored; True when written."""
    manifest = view.manifest
    recert = view.recertification
    expiring = next_expiry(view.exceptions)
    deadline = next_deadline(view)
    values = {
        "id": view.system_id,
        "name": manifest.name,
        "state": view.state.value,
        "environment": manifest.environment.value,
        "risk_tier": view.requirements.risk_tier.value,
        "applies": view.requirements.applies,
        "business_owner": _lower(manifest.business_owner),
        "technical_owner": _lower(manifest.technical_owner),
        "pending_request_id": view.pending_request.id if view.pending_request else None,
        "recertification_due_at": recert.due_at if recert else None,
        "overdue_since": recert.overdue_since if recert else None,
        "exception_expires_at": expiring.until if expiring else None,
        "urgency": urgency_key(deadline),
        "next_deadline": deadline.what if deadline else None,
        "has_exceptions": bool(view.exceptions),
        "view_json": view.model_dump_json(),
        "version": view.version,
        "updated_at": view.updated_at,
    }
    if not _newer_wins(session, SYSTEMS, values):
        return False
    # Straight to the driver: every batch carrying a system view runs these two statements.
    conn = session.connection()
    mark = placeholder(conn.dialect.name)
    conn.exec_driver_sql(
        f"DELETE FROM system_credentials WHERE system_id = {mark}", (view.system_id,)
    )
    credentials = {c.id: c.environment.value for c in manifest.credentials}
    if credentials:
        conn.exec_driver_sql(
            "INSERT INTO system_credentials (system_id, credential_id, environment)"
            f" VALUES ({mark}, {mark}, {mark})",
            [(view.system_id, cid, env) for cid, env in credentials.items()],
        )
    return True


def upsert_request(session: Session, *, request: ApprovalRequest, version: int) -> bool:
    """Store a request unless a newer or equal version is stored; True when written."""
    values = {
        "id": request.id,
        "system_id": request.system_id,
        "kind": request.kind.value,
        "status": request.status.value,
        "requester": request.requester.lower(),
        "request_json": request.model_dump_json(),
        "version": version,
        "updated_at": _request_updated_at(request),
    }
    return _newer_wins(session, APPROVAL_REQUESTS, values)


def _request_updated_at(request: ApprovalRequest) -> datetime:
    """The latest moment the request changed (opened, decided or closed)."""
    moments = [request.opened_at, *(d.at for d in request.decisions)]
    if request.closed_at is not None:
        moments.append(request.closed_at)
    return max(as_utc(moment) for moment in moments)


def _lower(value: str | None) -> str | None:
    """Lower-case an optional email."""
    return value.lower() if value else None


__all__ = [
    "SystemSummary",
    "apply_batch",
    "commit_batch",
    "get_request",
    "get_system",
    "list_requests",
    "list_systems",
    "shared_credentials",
    "upsert_request",
    "upsert_system",
]
