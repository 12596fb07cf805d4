"""Messages Threshold posted to outside systems (Slack), remembered so retries never repost."""

from __future__ import annotations

from sqlmodel import Session, select

from db.tables import SlackMessageRow, utcnow


def slack_messages(session: Session, *, request_id: str) -> dict[str, SlackMessageRow]:
    """Messages already posted (or refused for good) for a request, by target."""
    rows = session.exec(select(SlackMessageRow).where(SlackMessageRow.request_id == request_id))
    return {row.target: row for row in rows}


def remember_slack_message(
    session: Session,
    *,
    request_id: str,
    target: str,
    channel: str | None,
    ts: str | None,
    version: int,
    error: str | None = None,
) -> None:
    """Record where a message went (or why it cannot go); the caller commits."""
    row = session.get(SlackMessageRow, (request_id, target))
    if row is None:
        row = SlackMessageRow(request_id=request_id, target=target)
    row.channel, row.ts, row.error, row.version = channel, ts, error, version
    row.updated_at = utcnow()
    session.add(row)
