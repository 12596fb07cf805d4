"""Writes workflow records to the database: projection rows and hash-chained audit entries."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine
from temporalio import activity

from activities.shield import shielded
from db.projection import commit_batch
from domain.contracts import AuditEvent, RecordBatch


class LedgerActivities:
    """Activities over the database engine; idempotent, so Temporal may retry them freely."""

    def __init__(
        self, engine: Engine, after: Callable[[list[AuditEvent]], object] | None = None
    ) -> None:
        self._engine = engine
        self._after = after  # outbound webhooks, given the events once they are written

    @activity.defn(name="record_batch")
    @shielded
    def record_batch(self, batch: RecordBatch) -> int:
        """Apply one batch of records in a single transaction; returns events written."""
        commit_batch(self._engine, batch=batch)
        if self._after is not None and batch.events:
            self._after(batch.events)
        return len(batch.events)
