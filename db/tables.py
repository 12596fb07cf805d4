"""SQLModel tables: the projection (systems, requests, tickets), the audit ledger and API tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Index,
    Integer,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from domain.deadlines import NO_DEADLINE


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp stored in UTC and always read back as aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC before storing (naive values are taken as UTC)."""
        if value is None:
            return None
        return as_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Attach UTC to values the driver returns naive (SQLite)."""
        if value is None:
            return None
        return as_utc(value)


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


AUTO_ID = BigInteger().with_variant(Integer(), "sqlite")


class SystemRow(SQLModel, table=True):
    """The projection of one AI system: summary columns for queries plus the full view."""

    __tablename__ = "systems"
    # (filter column, id) pairs let the dashboard page a filtered estate from the index alone,
    # and (id, name) lets search scan names without reading the stored views (migration 0006).
    __table_args__ = (
        Index("ix_systems_state_id", "state", "id"),
        Index("ix_systems_risk_tier_id", "risk_tier", "id"),
        Index("ix_systems_business_owner_id", "business_owner", "id"),
        Index("ix_systems_technical_owner_id", "technical_owner", "id"),
        Index("ix_systems_id_name", "id", "name"),
        # The estate's urgency order, whole and filtered by state or tier (migration 0014); the
        # first covers search (name), overdue, expiring and owner filters too: no row is read.
        Index(
            "ix_systems_urgency_id",
            *("urgency", "id", "name", "overdue_since", "exception_expires_at"),
            *("business_owner", "technical_owner"),
        ),
        Index("ix_systems_state_urgency_id", "state", "urgency", "id"),
        Index("ix_systems_risk_tier_urgency_id", "risk_tier", "urgency", "id"),
        Index("ix_systems_has_exceptions_id", "has_exceptions", "id"),
    )

    id: str = Field(primary_key=True)
    name: str
    state: str = Field(index=True)
    environment: str
    risk_tier: str = Field(index=True)
    applies: bool
    business_owner: str | None = Field(default=None, index=True)
    technical_owner: str | None = Field(default=None, index=True)
    pending_request_id: str | None = None
    recertification_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    overdue_since: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    exception_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    urgency: int = Field(
        default=NO_DEADLINE,
        sa_type=BigInteger,
        description="The nearest deadline in epoch seconds (domain.deadlines); none: last.",
    )
    next_deadline: str | None = Field(default=None, description="What that deadline is.")
    has_exceptions: bool = Field(default=False, description="Ever had a waiver (any status).")
    view_json: str = Field(sa_type=Text)
    version: int
    updated_at: datetime = Field(sa_type=UTCDateTime)


class SystemCredentialRow(SQLModel, table=True):
    """One credential a system declares (kept in step with the system's manifest)."""

    __tablename__ = "system_credentials"
    __table_args__ = (
        Index("ix_system_credentials_credential_id_system_id", "credential_id", "system_id"),
    )

    system_id: str = Field(primary_key=True)
    credential_id: str = Field(primary_key=True)
    environment: str


class RequestRow(SQLModel, table=True):
    """The projection of one approval request."""

    __tablename__ = "approval_requests"

    id: str = Field(primary_key=True)
    system_id: str = Field(index=True)
    kind: str
    status: str = Field(index=True)
    requester: str
    request_json: str = Field(sa_type=Text)
    version: int
    updated_at: datetime = Field(sa_type=UTCDateTime)


class AuditEntryRow(SQLModel, table=True):
    """One hash-chained entry of the audit ledger (append-only)."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        UniqueConstraint("chain_id", "seq", name="uq_audit_entries_chain_seq"),
        UniqueConstraint("event_key", name="uq_audit_entries_event_key"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=AUTO_ID)
    chain_id: str
    seq: int
    event_key: str
    at: str
    actor: str
    action: str
    request_id: str | None = None
    detail: str = Field(sa_type=Text)
    prev_hash: str
    hash: str
    content_digest: str | None = None  # SHA-256 of `detail`; NULL before migration 0008
    erased_at: str | None = None
    erased_by: str | None = None
    erase_reason: str | None = Field(default=None, sa_type=Text)


class ChainHeadRow(SQLModel, table=True):
    """The last sequence number and hash of one chain of one ledger."""

    __tablename__ = "chain_heads"

    ledger: str = Field(primary_key=True)
    chain_id: str = Field(primary_key=True)
    seq: int
    hash: str


class TokenRow(SQLModel, table=True):
    """An API bearer token: only the SHA-256 of the token is stored, never shown."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
        UniqueConstraint("idempotency_key", name="uq_api_tokens_idempotency_key"),
    )

    id: str = Field(primary_key=True)
    principal: str
    role: str
    token_hash: str = Field(repr=False, exclude=True)
    label: str = ""
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    idempotency_key: str | None = Field(default=None, repr=False, exclude=True)


class SlackMessageRow(SQLModel, table=True):
    """One Slack message about one approval request, for one target (a person or a channel)."""

    __tablename__ = "slack_messages"

    request_id: str = Field(primary_key=True)
    target: str = Field(primary_key=True)
    channel: str | None = None
    ts: str | None = None
    error: str | None = None
    version: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TicketRow(SQLModel, table=True):
    """The change-request ticket of one approval request, in Jira or in the local tracker."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("key", name="uq_tickets_key"),
        UniqueConstraint("tracker", "number", name="uq_tickets_tracker_number"),
    )

    request_id: str = Field(primary_key=True)
    key: str
    tracker: str = Field(description="jira or local")
    number: int | None = Field(default=None, description="THR-<number> in the local tracker")
    system_id: str = Field(index=True)
    kind: str
    summary: str
    description: str = Field(sa_type=Text)
    status: str = Field(index=True, description="open, done or rejected")
    url: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TicketEventRow(SQLModel, table=True):
    """One comment or transition delivered to a ticket, so a retry never repeats it."""

    __tablename__ = "ticket_events"

    request_id: str = Field(primary_key=True)
    event: str = Field(primary_key=True)
    body: str = Field(sa_type=Text)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ActionRow(SQLModel, table=True):
    """One hash-chained entry of the action ledger (append-only, chained per system)."""

    __tablename__ = "actions"
    __table_args__ = (
        UniqueConstraint("chain_id", "seq", name="uq_actions_chain_seq"),
        UniqueConstraint("record_key", name="uq_actions_record_key"),
        Index("ix_actions_credential_at", "credential_id", "at"),
        Index("ix_actions_chain_at", "chain_id", "at"),
        Index("ix_actions_trace", "trace_id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=AUTO_ID)
    chain_id: str
    seq: int
    record_key: str
    at: str
    environment: str
    kind: str
    tool: str | None = None
    target: str | None = None
    credential_id: str | None = None
    approved_by: str | None = None
    trace_id: str
    content_digest: str | None = None
    content_length: int | None = None
    content: str | None = Field(default=None, sa_type=Text)
    model: str | None = None
    prev_hash: str
    hash: str


class ActionFindingRow(SQLModel, table=True):
    """One way one recorded action left its system's approved scope."""

    __tablename__ = "action_findings"
    __table_args__ = (
        UniqueConstraint("record_key", "code", name="uq_action_findings_record_code"),
        Index("ix_action_findings_system_code", "system_id", "code"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=AUTO_ID)
    system_id: str
    code: str
    message: str
    nhi: str | None = None
    record_key: str
    trace_id: str
    credential_id: str | None = None
    at: str


class FindingAckRow(SQLModel, table=True):
    """A person's acknowledgement of one finding kind on one system, up to one finding row."""

    __tablename__ = "finding_acknowledgements"

    system_id: str = Field(primary_key=True)
    code: str = Field(primary_key=True)
    through_id: int = Field(description="the last action_findings.id this acknowledgement covers")
    reason: str = Field(sa_type=Text)
    by: str
    at: datetime = Field(sa_type=UTCDateTime)


class WebhookRow(SQLModel, table=True):
    """One subscription: where to send which events, in which format (no secret is stored)."""

    __tablename__ = "webhooks"

    id: str = Field(primary_key=True)
    url: str = Field(sa_type=Text)
    events: str = Field(description="JSON list of WebhookEvent values")
    format: str
    created_by: str
    created_at: datetime = Field(sa_type=UTCDateTime)


class DeliveryRow(SQLModel, table=True):
    """One event to one subscription: the exact body, and how its attempts went."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_key", name="uq_webhook_deliveries_event"),
        Index("ix_webhook_deliveries_webhook", "webhook_id", "created_at"),
    )

    id: str = Field(primary_key=True)
    webhook_id: str
    event_key: str
    event_type: str
    body: str = Field(sa_type=Text)
    status: str = "pending"
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


SYSTEMS: Table = SystemRow.__table__  # type: ignore[attr-defined]
SYSTEM_CREDENTIALS: Table = SystemCredentialRow.__table__  # type: ignore[attr-defined]
APPROVAL_REQUESTS: Table = RequestRow.__table__  # type: ignore[attr-defined]
AUDIT_ENTRIES: Table = AuditEntryRow.__table__  # type: ignore[attr-defined]
CHAIN_HEADS: Table = ChainHeadRow.__table__  # type: ignore[attr-defined]
API_TOKENS: Table = TokenRow.__table__  # type: ignore[attr-defined]
SLACK_MESSAGES: Table = SlackMessageRow.__table__  # type: ignore[attr-defined]
TICKETS: Table = TicketRow.__table__  # type: ignore[attr-defined]
TICKET_EVENTS: Table = TicketEventRow.__table__  # type: ignore[attr-defined]
ACTIONS: Table = ActionRow.__table__  # type: ignore[attr-defined]
ACTION_FINDINGS: Table = ActionFindingRow.__table__  # type: ignore[attr-defined]
FINDING_ACKS: Table = FindingAckRow.__table__  # type: ignore[attr-defined]
WEBHOOKS: Table = WebhookRow.__table__  # type: ignore[attr-defined]
WEBHOOK_DELIVERIES: Table = DeliveryRow.__table__  # type: ignore[attr-defined]
TABLES = (
    SYSTEMS,
    SYSTEM_CREDENTIALS,
    APPROVAL_REQUESTS,
    AUDIT_ENTRIES,
    CHAIN_HEADS,
    API_TOKENS,
    SLACK_MESSAGES,
    TICKETS,
    TICKET_EVENTS,
    ACTIONS,
    ACTION_FINDINGS,
    FINDING_ACKS,
    WEBHOOKS,
    WEBHOOK_DELIVERIES,
)
