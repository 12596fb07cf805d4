"""Keep Temporal's thread-cancellation exception out of the middle of a database transaction."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from temporalio import activity

P = ParamSpec("P")
R = TypeVar("R")


def shielded(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a sync activity with cancellation delayed to its end.

    Temporal cancels a threaded activity by raising an exception inside its thread, wherever it
    is; inside SQLAlchemy that can strand a connection mid-transaction (holding row locks until
    the process dies). Our activities are short and idempotent, so they finish, then see it.
    """

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with activity.shield_thread_cancel_exception():
            return fn(*args, **kwargs)

    return run
