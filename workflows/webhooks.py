"""One webhook delivery: the send activity, retried by Temporal within a bounded policy."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from domain.webhooks import DeliveryInput
from workflows.effects import deliver_webhook


@workflow.defn(name="WebhookDeliveryWorkflow")
class WebhookDeliveryWorkflow:
    """Sends one stored delivery; its attempts and outcome are recorded by the activity."""

    @workflow.run
    async def run(self, job: DeliveryInput) -> bool:
        """True when the subscriber took it, False once every attempt failed."""
        policy = RetryPolicy(
            initial_interval=timedelta(seconds=1),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=60),
            maximum_attempts=job.max_attempts,
        )
        try:
            await workflow.execute_activity(
                deliver_webhook,
                job,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=policy,
            )
        except ActivityError:
            return False
        return True
