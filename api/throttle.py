"""Throttles at the door: failed authentication per client address and token id, writes per token.

Both are per API process and in memory (N replicas allow N times the rate; a shared limiter
belongs in the load balancer). Failed tokens: `api.auth_failures_per_minute` per client
address and per token id (a guessed secret for a known id), then 429 with `Retry-After`
until the minute is over; a key reaching the limit is written once to the audit ledger (chain
`threshold:security`, action `auth_throttled`). Writes: a token bucket per token,
`api.write_rate_per_second` refilling up to `api.write_burst`.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session
from starlette.requests import Request

from core.settings import ApiSettings
from db.ledger import append_events
from db.tables import utcnow
from db.tokens import token_id_of
from domain.access import SECURITY_CHAIN
from domain.audit import AuditAction
from domain.contracts import AuditEvent

WINDOW_SECONDS = 60.0
MAX_KEYS = 100_000


@dataclass
class _Window:
    """Failures of one key in the current minute."""

    start: float
    failures: int = 0
    audited: bool = False


class FailedAuth:
    """Counts failed tokens per key; a key at the limit is refused until its minute ends."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._windows: dict[str, _Window] = {}

    def _window(self, key: str, now: float) -> _Window:
        window = self._windows.get(key)
        if window is None or now - window.start >= WINDOW_SECONDS:
            if len(self._windows) >= MAX_KEYS:
                self._windows.clear()
            window = self._windows[key] = _Window(start=now)
        return window

    def retry_after(self, keys: list[str]) -> int | None:
        """Seconds until every blocked key of this request is allowed again, or None."""
        now = time.monotonic()
        waits = [
            WINDOW_SECONDS - (now - w.start)
            for w in (self._window(k, now) for k in keys)
            if w.failures >= self.limit
        ]
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, keys: list[str]) -> list[tuple[str, int]]:
        """Count a failure; the keys whose burst starts now (to audit once) and their counts."""
        now = time.monotonic()
        bursts = []
        for key in keys:
            window = self._window(key, now)
            window.failures += 1
            if window.failures >= self.limit and not window.audited:
                window.audited = True
                bursts.append((key, window.failures))
        return bursts


class WriteRate:
    """A token bucket per token id for write requests."""

    def __init__(self, per_second: float, burst: int) -> None:
        self.per_second = per_second
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, token_id: str) -> int | None:
        """Take one write from the token's bucket; None if allowed, else seconds to wait."""
        if self.per_second <= 0:
            return None
        now = time.monotonic()
        level, at = self._buckets.get(token_id, (self.burst, now))
        level = min(self.burst, level + (now - at) * self.per_second)
        if level < 1.0:
            self._buckets[token_id] = (level, now)
            return max(1, math.ceil((1.0 - level) / self.per_second))
        if len(self._buckets) >= MAX_KEYS:
            self._buckets.clear()
        self._buckets[token_id] = (level - 1.0, now)
        return None


def door_keys(request: Request, token: str) -> list[str]:
    """What failed tokens are counted by: the client address, and the token id when it has one."""
    keys = [f"address {request.client.host if request.client else 'unknown'}"]
    token_id = token_id_of(token)
    if token_id is not None:
        keys.append(f"token {token_id}")
    return keys


class Guard:
    """The throttles of one API process, and where their bursts are audited."""

    def __init__(self, settings: ApiSettings, engine: Engine) -> None:
        self.failures = FailedAuth(settings.auth_failures_per_minute)
        self.writes = WriteRate(settings.write_rate_per_second, settings.write_burst)
        self.engine = engine

    def audit_burst(self, key: str, failures: int) -> None:
        """Record one `auth_throttled` entry for a burst of failed tokens (blocking I/O)."""
        now = utcnow()
        event = AuditEvent(
            event_key=f"auth-throttled:{key}:{uuid.uuid4().hex}",
            system_id=SECURITY_CHAIN,
            at=now,
            actor=key,
            action=AuditAction.auth_throttled,
            detail={"failures": failures, "window_seconds": int(WINDOW_SECONDS)},
        )
        with Session(self.engine) as session:
            append_events(session, events=[event])
            session.commit()
