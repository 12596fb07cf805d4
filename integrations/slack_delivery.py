"""Deliver to several Slack recipients independently: one recipient's failure delays only them.

`deliver_each` runs one call per recipient concurrently and collects each outcome, so a
recipient Slack rate-limits (429) or fails for (5xx) does not hold up the others; the caller
records who was reached and asks Temporal to retry only the rest (`retry_delay` says how long
the slowest Retry-After wants).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from integrations.slack import SlackPermanentError, SlackRateLimited, SlackTransientError

T = TypeVar("T")
MAX_PARALLEL = 8


@dataclass
class Delivery(Generic[T]):
    """What happened per recipient: delivered values, permanent refusals, and who to retry."""

    done: dict[str, T] = field(default_factory=dict)
    refused: dict[str, SlackPermanentError] = field(default_factory=dict)
    retry: dict[str, SlackTransientError] = field(default_factory=dict)

    @property
    def retry_delay(self) -> float | None:
        """The longest Retry-After among rate-limited recipients (None when none was)."""
        waits = [
            e.retry_after or 1.0 for e in self.retry.values() if isinstance(e, SlackRateLimited)
        ]
        return max(waits) if waits else None

    def summary(self) -> str:
        """One line naming the recipients still to reach and why."""
        return "; ".join(f"{who}: {error}" for who, error in sorted(self.retry.items()))


def _one(call: Callable[[str], T], recipient: str) -> T | SlackPermanentError | SlackTransientError:
    try:
        return call(recipient)
    except (SlackPermanentError, SlackTransientError) as error:
        return error


def deliver_each(recipients: Sequence[str], call: Callable[[str], T]) -> Delivery[T]:
    """Run `call(recipient)` for every recipient at once; failures stay with their recipient."""
    delivery: Delivery[T] = Delivery()
    if not recipients:
        return delivery
    workers = min(MAX_PARALLEL, len(recipients))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="slack-recipient") as pool:
        # each call runs in a copy of the caller's context (activity info, logging)
        futures = [
            pool.submit(contextvars.copy_context().run, _one, call, who) for who in recipients
        ]
        outcomes = [future.result() for future in futures]
    for recipient, outcome in zip(recipients, outcomes, strict=True):
        if isinstance(outcome, SlackPermanentError):
            delivery.refused[recipient] = outcome
        elif isinstance(outcome, SlackTransientError):
            delivery.retry[recipient] = outcome
        else:
            delivery.done[recipient] = outcome
    return delivery
