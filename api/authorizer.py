"""Authorize before acting: a per-process, version-stamped snapshot of every approved scope.

The hot path (`Authorizer.authorize`) reads memory only. A background loop re-reads
`(id, version)` of every system each `api.authorize_poll_seconds` and reloads the views of the
systems whose version moved, so a containment, retirement or approval reaches every API
process within one poll; a production scope that has not been confirmed current within
`api.authorize_stale_seconds` is denied ("authorization snapshot stale"). Denials,
approvals asked for and (unless `api.authorize_record_allows` is off) allows go to the action
ledger in batches from the same loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from api.service import GovernanceService
from core.settings import Settings
from db.actions import scope_of
from domain.actions import ActionRecord, ActionScope
from domain.authorize import AuthorizeRequest, RuntimeDecision, Verdict, as_record, decide
from domain.contracts import SystemView

log = logging.getLogger(__name__)


MISS_REFRESH_SECONDS = 0.05
"""An unknown system re-reads the projection at once, at most this often (no flood of reads)."""


@dataclass
class Pending:
    """A just-in-time approval the runtime waits on."""

    id: str
    request: AuthorizeRequest
    verdict: Verdict
    requested_by: str
    expires_at: datetime
    decided: asyncio.Event = field(default_factory=asyncio.Event)
    final: Verdict | None = None
    decided_by: str | None = None


class Snapshot:
    """Approved scopes by system id, each stamped with its projection version."""

    def __init__(self) -> None:
        self.scopes: dict[str, ActionScope] = {}
        self.confirmed = 0.0  # time.monotonic() of the last poll that succeeded

    def refresh(self, engine: Engine) -> int:
        """Re-read versions; reload the views that moved; the number of systems reloaded."""
        with engine.connect() as conn:
            versions = {
                str(i): int(v) for i, v in conn.execute(text("SELECT id, version FROM systems"))
            }
            moved = [
                s
                for s, v in versions.items()
                if (c := self.scopes.get(s)) is None or c.version != v
            ]
            fresh: dict[str, ActionScope] = {}
            for start in range(0, len(moved), 500):
                part = moved[start : start + 500]
                marks = ", ".join(f":p{n}" for n in range(len(part)))
                rows = conn.execute(
                    text(f"SELECT view_json FROM systems WHERE id IN ({marks})"),
                    {f"p{n}": s for n, s in enumerate(part)},
                )
                for (view_json,) in rows:
                    scope = scope_of(SystemView.model_validate_json(view_json))
                    fresh[scope.system_id] = scope
        scopes = {s: self.scopes[s] for s in versions if s in self.scopes and s not in fresh}
        scopes.update(fresh)
        self.scopes = scopes  # one assignment: readers see the old or the new map, whole
        self.confirmed = time.monotonic()
        return len(fresh)


class Authorizer:
    """Decisions from the snapshot; pending approvals; the ledger queue."""

    def __init__(self, engine: Engine, settings: Settings, service: GovernanceService) -> None:
        self.engine = engine
        self.settings = settings.api
        self.service = service
        self.snapshot = Snapshot()
        self.pending: dict[str, Pending] = {}
        self.queue: list[ActionRecord] = []

    def stale(self) -> bool:
        """True when the snapshot was not confirmed current within the bound."""
        return time.monotonic() - self.snapshot.confirmed > self.settings.authorize_stale_seconds

    def authorize(self, request: AuthorizeRequest, principal: str) -> tuple[Verdict, str | None]:
        """The verdict (and, for require_approval, the id of the approval opened); None: unknown."""
        scope = self.snapshot.scopes.get(request.system)
        if scope is None and time.monotonic() - self.snapshot.confirmed > MISS_REFRESH_SECONDS:
            self.snapshot.refresh(self.engine)  # a system registered since the last poll
            scope = self.snapshot.scopes.get(request.system)
        if scope is None:
            raise KeyError(request.system)
        now = datetime.now(UTC)
        record = as_record(request, now)
        verdict = decide(scope, record, stale=self.stale())
        approval_id = None
        if verdict.decision is RuntimeDecision.require_approval:
            approval_id = "jit-" + uuid.uuid4().hex[:16]
            minutes = self.settings.authorize_approval_minutes
            self.pending[approval_id] = Pending(
                approval_id, request, verdict, principal, now + timedelta(minutes=minutes)
            )
        if verdict.decision is not RuntimeDecision.allow or self.settings.authorize_record_allows:
            self.queue.append(record.model_copy(update={"id": "authorize:" + uuid.uuid4().hex}))
        return verdict, approval_id

    def decide_pending(self, approval_id: str, principal: str, approve: bool) -> Pending:
        """Approve or reject a pending approval (never by the principal who asked)."""
        pending = self.pending[approval_id]
        if pending.final is not None:
            return pending
        if principal == pending.requested_by:
            raise PermissionError("no self-approval: another principal must decide")
        scope = self.snapshot.scopes[pending.request.system]
        record = as_record(pending.request, datetime.now(UTC), principal if approve else None)
        if approve:
            final = decide(scope, record, stale=self.stale())
        else:
            final = Verdict(
                decision=RuntimeDecision.deny,
                reasons=[f"{principal} rejected the approval {approval_id}"],
                codes=["approval_rejected"],
                version=scope.version,
                state=scope.state,
            )
        pending.final, pending.decided_by = final, principal
        pending.decided.set()
        if final.decision is not RuntimeDecision.allow or self.settings.authorize_record_allows:
            self.queue.append(record.model_copy(update={"id": "authorize:" + approval_id}))
        return pending

    async def wait(self, approval_id: str, seconds: float) -> Pending:
        """The pending approval once decided, expired, or after `seconds`."""
        pending = self.pending[approval_id]
        self._expire(pending)
        if pending.final is None and seconds > 0:
            left = (pending.expires_at - datetime.now(UTC)).total_seconds()
            try:
                await asyncio.wait_for(pending.decided.wait(), max(0.0, min(seconds, left)))
            except TimeoutError:
                self._expire(pending)
        return pending

    def _expire(self, pending: Pending) -> None:
        if pending.final is None and datetime.now(UTC) >= pending.expires_at:
            pending.final = Verdict(
                decision=RuntimeDecision.deny,
                reasons=[f"approval {pending.id} expired without a decision"],
                codes=["approval_expired"],
                version=pending.verdict.version,
                state=pending.verdict.state,
            )
            pending.decided.set()

    async def run(self) -> None:
        """Poll the projection and flush the ledger queue until cancelled."""
        while True:
            try:
                await asyncio.to_thread(self.snapshot.refresh, self.engine)
            except Exception as exc:  # the database is away: the snapshot goes stale, closed
                log.warning("authorization snapshot refresh failed: %s", type(exc).__name__)
            await self.flush()
            await asyncio.sleep(self.settings.authorize_poll_seconds)

    async def flush(self) -> None:
        """Append the queued decisions to the action ledger (kept for the next try on a fault)."""
        batch, self.queue = self.queue, []
        if not batch:
            return
        try:
            await self.service.ingest_actions(batch, tell=False)
        except Exception as exc:
            log.warning("authorize ledger flush failed: %s", type(exc).__name__)
            self.queue = batch[:50_000] + self.queue
