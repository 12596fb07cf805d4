"""`DormancySweepWorkflow`: one per deployment; every `credentials.dormancy_sweep_hours` it reads
the dormant credentials and systems (page by page) and tells each system's workflow.

Each run sweeps once, sleeps on a durable timer and continues as new, so its history stays one
sweep long. Time is the workflow's: the activity judges dormancy as of `workflow.now()`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import FailureError

from domain.contracts import system_workflow_id
from domain.dormancy import DormancySignal, SweepInput, SweepJob, SweepReport, SystemDormancy
from workflows import effects
from workflows.dormancy import Dormancy

SWEEP_TIMEOUT = timedelta(minutes=5)
SWEEP_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=0)


@workflow.defn
class DormancySweepWorkflow:
    """Sweep, sleep, continue as new: forever."""

    @workflow.init
    def __init__(self, input: SweepInput) -> None:
        self._report: SweepReport | None = None

    @workflow.run
    async def run(self, input: SweepInput) -> None:
        """One sweep of every page, then the timer to the next."""
        every = await self._sweep(input.prefix)
        await workflow.sleep(timedelta(hours=every))
        workflow.continue_as_new(input)

    @workflow.query
    def report(self) -> SweepReport | None:
        """This run's sweep once it is done: when, systems told, findings stored, next sweep."""
        return self._report

    async def _sweep(self, prefix: str) -> int:
        """Read every page and tell each system; the policy's hours to the next sweep."""
        now = workflow.now()
        after: str | None = ""
        every, told, findings = 24, 0, 0
        while after is not None:
            page = await workflow.execute_activity(
                effects.sweep_dormancy,
                SweepJob(now=now, after=after),
                start_to_close_timeout=SWEEP_TIMEOUT,
                retry_policy=SWEEP_RETRY,
            )
            every = page.every_hours
            await asyncio.gather(*(self._tell(prefix, s, page.days) for s in page.systems))
            told, findings = told + len(page.systems), findings + page.findings
            after = page.next_after
        self._report = SweepReport(
            at=now, systems=told, findings=findings, next_at=now + timedelta(hours=every)
        )
        return every

    @staticmethod
    async def _tell(prefix: str, found: SystemDormancy, days: int) -> None:
        """Signal one system; one closed since the read (retired) is skipped."""
        handle = workflow.get_external_workflow_handle(system_workflow_id(found.system_id, prefix))
        try:
            await handle.signal(
                Dormancy.dormant,
                DormancySignal(items=found.items, days=days, at=workflow.now()),
            )
        except FailureError as error:
            workflow.logger.warning("dormancy: %s not told: %s", found.system_id, error)
