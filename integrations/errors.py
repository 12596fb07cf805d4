"""Errors every integration raises, split by whether retrying can help.

`IntegrationError` is the base. `TransientIntegrationError` (outages, timeouts, rate limits;
`retry_after` in seconds when the vendor said how long to wait) is worth retrying later;
`PermanentIntegrationError` (bad credentials, missing objects, invalid input) is not, and its
message says what a person has to change. Temporal owns retries: activities turn these into
`ApplicationError(non_retryable=not error.retryable, next_retry_delay=...)`.
"""

from __future__ import annotations


class IntegrationError(Exception):
    """A call to an outside system failed."""

    retryable = False


class TransientIntegrationError(IntegrationError):
    """The call may succeed if repeated later."""

    retryable = True

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentIntegrationError(IntegrationError):
    """Repeating the call will fail the same way until a person fixes something."""
