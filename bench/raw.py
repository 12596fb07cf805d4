"""The raw baseline: a trivial long-running entity workflow (no domain, no activities, no DB).

It waits on a condition until told to stop, answers a trivial update and a trivial query. It
has no side effects at import, so the worker sandbox can re-import it.
"""

from __future__ import annotations

from temporalio import workflow


@workflow.defn
class RawEntityWorkflow:
    """One entity that lives until `stop`: the cheapest possible Temporal entity."""

    @workflow.init
    def __init__(self, name: str) -> None:
        self._name = name
        self._touches = 0
        self._stopped = False

    @workflow.run
    async def run(self, name: str) -> int:
        """Wait until stopped; return how many updates it took."""
        await workflow.wait_condition(lambda: self._stopped)
        return self._touches

    @workflow.update
    def touch(self, value: int) -> int:
        """Count one update and answer at once (no validator, no activity)."""
        self._touches += 1
        return value

    @workflow.query
    def state(self) -> dict[str, object]:
        """A small state read."""
        return {"name": self._name, "touches": self._touches, "stopped": self._stopped}

    @workflow.signal
    def ping(self, value: int) -> None:
        """A trivial signal (counted like an update, answered by nothing)."""
        self._touches += 1

    @workflow.signal
    def stop(self) -> None:
        """Let the workflow finish."""
        self._stopped = True
