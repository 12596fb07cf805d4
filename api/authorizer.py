"""Authorize before acting: a per-process, version-stamped snapshot of every approved scope.

The hot path (`Authorizer.authorize`) reads memory only. A background loop re-reads
`(id, version)` of every system each `api.authorize_poll_seconds` and reloads the views of the
systems whose version moved, so a containment, retirement or approval reaches every API
process within one poll; a production scope that has not been confirmed current within
`api.authorize_stale_seconds` is denied ("authorization snapshot stale"). Denials,
approvals asked for and (unless `api.authorize_record_allows` is off) allows go to the action
ledger in batches from the same loop, which also wakes the long polls of just-in-time approvals
that have settled (they are approval requests: `domain/action_approvals.py`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, text
from sqlmodel import Session

from api.service import GovernanceService
from core.settings import Settings
from db.actions import scope_of
from db.queries import get_request, get_system
from domain.action_approvals import entry_for, entry_of
from domain.actions import ActionRecord, ActionScope
from domain.approvals import ApprovalRequest, RequestKind, RequestStatus
from domain.authorize import (
    AuthorizeRequest,
    RuntimeDecision,
    Verdict,
    as_record,
    decide,
    masked_ask,
)
from domain.contracts import ActionApproval, CommandMeta, SystemView
from domain.errors import GovernanceError, NotFound

log = logging.getLogger(__name__)


MISS_REFRESH_SECONDS = 0.05
"""An unknown system re-reads the projection at once, at most this often (no flood of reads)."""

RECORDED_KEEP = 10_000
"""Approved approvals this process remembers having recorded (the ledger dedups the rest)."""


@dataclass(frozen=True)
class Approval:
    """A just-in-time approval as authorize answers it: the request and the verdict it gives."""

    request: ApprovalRequest
    verdict: Verdict


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
    """Decisions from the snapshot; just-in-time approvals and their long polls; the ledger queue."""

    def __init__(self, engine: Engine, settings: Settings, service: GovernanceService) -> None:
        self.engine = engine
        self.settings = settings.api
        self.service = service
        self.snapshot = Snapshot()
        self.waiting: dict[str, list[asyncio.Event]] = {}
        self.recorded: set[str] = set()
        self.queue: list[ActionRecord] = []

    def stale(self) -> bool:
        """True when the snapshot was not confirmed current within the bound."""
        return time.monotonic() - self.snapshot.confirmed > self.settings.authorize_stale_seconds

    def scope(self, system_id: str) -> ActionScope:
        """The system's approved scope (re-reading at once for one not seen yet); KeyError."""
        scope = self.snapshot.scopes.get(system_id)
        if scope is None and time.monotonic() - self.snapshot.confirmed > MISS_REFRESH_SECONDS:
            self.snapshot.refresh(self.engine)  # a system registered since the last poll
            scope = self.snapshot.scopes.get(system_id)
        if scope is None:
            raise KeyError(system_id)
        return scope

    def authorize(self, request: AuthorizeRequest) -> Verdict:
        """The verdict from memory alone (KeyError: unknown system); queued for the ledger."""
        record = as_record(request, datetime.now(UTC))
        verdict = decide(self.scope(request.system), record, stale=self.stale())
        if verdict.decision is not RuntimeDecision.allow or self.settings.authorize_record_allows:
            self.queue.append(record.model_copy(update={"id": "authorize:" + uuid.uuid4().hex}))
        return verdict

    async def open_approval(
        self, request: AuthorizeRequest, verdict: Verdict, meta: CommandMeta
    ) -> Approval:
        """Have the system's workflow open a just-in-time approval; refused: a deny saying why."""
        kept = masked_ask(self.scope(request.system), request, datetime.now(UTC))
        try:
            result = await self.service.request_action_approval(kept, meta, verdict.reasons)
        except GovernanceError as refused:
            if refused.code not in ("conflict", "invalid"):
                raise
            why = Verdict(
                decision=RuntimeDecision.deny,
                reasons=[*verdict.reasons, f"no approval could be opened: {refused.message}"],
                codes=[*verdict.codes, "approval_unavailable"],
                version=verdict.version,
                state=verdict.state,
            )
            raise ApprovalRefused(why) from None
        entry = entry_for(result.system, meta.command_id)
        if entry is None:  # a retry of a call whose approval aged out of the record
            raise ApprovalRefused(
                verdict.model_copy(
                    update={
                        "decision": RuntimeDecision.deny,
                        "reasons": ["this call's approval is no longer on record: ask again"],
                        "codes": ["approval_unavailable"],
                    }
                )
            )
        approval = await self.approval(entry.request_id, result.system)
        assert approval is not None  # the entry is on the record the workflow just answered
        return approval

    async def approval(self, request_id: str, view: SystemView | None = None) -> Approval | None:
        """The approval as it stands, with its verdict once settled (None: no such approval).

        The projection answers; in the moment after opening, before it has caught up, the
        workflows do (`view`: the system record a command just returned).
        """
        request, entry, system_id = await asyncio.to_thread(_read_approval, self.engine, request_id)
        if entry is None and view is not None:
            entry = entry_of(view, request_id)
        if entry is None:
            try:
                entry = entry_of(await self.service.view(system_id), request_id)
            except NotFound:
                return None
        if entry is None:
            return None
        if request is None:
            request = await self.service.request(request_id)
        if request.kind is not RequestKind.action:
            return None
        return Approval(request=request, verdict=self._verdict(request, entry))

    async def wait(self, request_id: str, seconds: float) -> Approval | None:
        """The approval once settled, or as it stands after `seconds` (None: no such approval)."""
        deadline = time.monotonic() + seconds
        while True:
            approval = await self.approval(request_id)
            left = deadline - time.monotonic()
            if (
                approval is None
                or approval.request.status is not RequestStatus.pending
                or left <= 0
            ):
                return approval
            event = asyncio.Event()
            self.waiting.setdefault(request_id, []).append(event)
            try:
                await asyncio.wait_for(event.wait(), left)
            except TimeoutError:
                pass
            finally:
                events = self.waiting.get(request_id, [])
                if event in events:
                    events.remove(event)
                if not events:
                    self.waiting.pop(request_id, None)

    def _verdict(self, request: ApprovalRequest, entry: ActionApproval) -> Verdict:
        """require_approval while open; allow (re-checked now) once approved; deny otherwise."""
        scope = self.snapshot.scopes.get(request.system_id)
        version, state = (scope.version, scope.state) if scope else (0, "unknown")

        def answer(decision: RuntimeDecision, reason: str, code: str) -> Verdict:
            return Verdict(
                decision=decision, reasons=[reason], codes=[code], version=version, state=state
            )

        status = request.status
        if status is RequestStatus.pending:
            awaits = f"approval {request.id} awaits " + ", ".join(request.pending_roles)
            return answer(RuntimeDecision.require_approval, awaits, "missing_human_approval")
        if status is RequestStatus.approved:
            if scope is None:
                gone = f"{request.system_id} is not in this process's snapshot: ask again"
                return answer(RuntimeDecision.deny, gone, "snapshot_missing")
            approvers = ", ".join(request.approvers)
            record = as_record(entry.ask, datetime.now(UTC), approvers[:320])
            self._record_once(request.id, record)
            verdict = decide(scope, record, stale=self.stale())
            return verdict.model_copy(
                update={"reasons": [f"approved by {approvers} ({request.id})", *verdict.reasons]}
            )
        why = {
            RequestStatus.rejected: f"rejected ({request.id}): {request.reason}",
            RequestStatus.expired: f"approval {request.id} expired without a decision",
            RequestStatus.withdrawn: f"approval {request.id} {request.reason}",
        }.get(status, f"approval {request.id} is {status.value}")
        return answer(RuntimeDecision.deny, why, f"approval_{status.value}")

    def _record_once(self, request_id: str, record: ActionRecord) -> None:
        """Queue an approved action for the ledger once per process (its id dedups the rest)."""
        if request_id in self.recorded:
            return
        if len(self.recorded) >= RECORDED_KEEP:
            self.recorded.clear()
        self.recorded.add(request_id)
        self.queue.append(record.model_copy(update={"id": "authorize:" + request_id}))

    def _wake_settled(self) -> None:
        """Wake the long polls of this process whose approval is no longer pending."""
        ids = list(self.waiting)
        if not ids:
            return
        marks = ", ".join(f":p{n}" for n in range(len(ids)))
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(f"SELECT id FROM approval_requests WHERE id IN ({marks}) AND status != :s"),
                {"s": RequestStatus.pending.value, **{f"p{n}": i for n, i in enumerate(ids)}},
            )
            settled = [str(i) for (i,) in rows]
        for request_id in settled:
            for event in self.waiting.get(request_id, []):
                event.set()

    async def run(self) -> None:
        """Poll the projection and flush the ledger queue until cancelled."""
        while True:
            try:
                await asyncio.to_thread(self.snapshot.refresh, self.engine)
                await asyncio.to_thread(self._wake_settled)
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


class ApprovalRefused(Exception):
    """No approval could be opened: the deny verdict that says why."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.reasons[-1])
        self.verdict = verdict


def _read_approval(
    engine: Engine, request_id: str
) -> tuple[ApprovalRequest | None, ActionApproval | None, str]:
    """An approval's projected request and projected record entry (either None while the
    projection has not caught up) and the id of its system."""
    with Session(engine) as session:
        request = get_request(session, request_id=request_id)
        system_id = request.system_id if request else request_id.rpartition("-")[0]
        view = get_system(session, system_id=system_id)
    return request, entry_of(view, request_id) if view else None, system_id
