"""The worker: wires settings → database → activities → a Temporal `Worker` on one task queue.

Run alone against any Temporal server: `TEMPORAL_ADDRESS=host:7233 TEMPORAL_NAMESPACE=ns python worker.py`.
"""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import inspect
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.containment import ContainmentActivities
from activities.dormancy import DormancyActivities
from activities.jira import ChangeTicketActivities
from activities.ledger import LedgerActivities
from activities.slack import SlackActivities
from activities.webhooks import WebhookActivities, WebhookDispatcher
from core.observability import setup_worker_process, traced_client
from core.runtime import tune_gc
from core.settings import Settings, get_settings
from core.temporal import TemporalConnectError, connect
from db.engine import get_engine, init_db
from domain.contracts import dormancy_sweep_workflow_id
from domain.dormancy import SweepInput
from integrations.jira_tracker import JiraTracker
from integrations.revoker import revoker_from_settings
from integrations.slack import SlackMessenger
from workflows.ai_system import AISystemWorkflow
from workflows.approval import ApprovalWorkflow
from workflows.sweep import DormancySweepWorkflow
from workflows.webhooks import WebhookDeliveryWorkflow

WORKFLOWS = [AISystemWorkflow, ApprovalWorkflow, WebhookDeliveryWorkflow, DormancySweepWorkflow]
SHUTDOWN_GRACE = timedelta(seconds=10)  # in-flight activities finish before a stop cancels them
# Pure, deterministic modules shared with the sandbox instead of re-imported per workflow run:
# our domain and the e-mail validator pydantic calls. Every workflows/ module is re-imported and
# checked by the sandbox on each run (a test holds this list to pure modules).
PASSTHROUGH = ("domain", "email_validator", "idna")


def sandbox_restrictions() -> SandboxRestrictions:
    """The sandbox's defaults plus the pure modules above passed through."""
    return SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox that runs every workflow, with only pure modules passed through."""
    return SandboxedWorkflowRunner(restrictions=sandbox_restrictions())


log = logging.getLogger("threshold.worker")


def build_worker(
    client: Client, settings: Settings, executor: ThreadPoolExecutor, **options: Any
) -> Worker:
    """A worker with every workflow and activity, wired to the configured database.

    `options` go to `Worker` (tests pass `max_cached_workflows=0` to replay every task).
    """
    cache_workflow_bytecode()
    engine = get_engine(settings.database_url)
    hooks = WebhookDispatcher(engine, client, settings, _running_loop())
    ledger = LedgerActivities(engine, after=hooks.dispatch)
    webhooks = WebhookActivities(engine, settings)
    slack = SlackActivities(
        slack_messenger(settings),
        engine,
        channel=settings.slack.approvals_channel,
        api_url=settings.api_url,
        jira=(settings.jira.url, settings.jira.project) if settings.jira.url else None,
    )
    tickets = ChangeTicketActivities(
        jira_tracker(settings),
        engine,
        jira=settings.jira,
        api_url=settings.api_url,
        label_prefix=settings.temporal.workflow_id_prefix,
    )
    revoker = revoker_from_settings(settings.revoker)
    containment = ContainmentActivities(revoker, revoker.name)
    dormancy = DormancyActivities(engine, settings)
    return Worker(
        client,
        task_queue=settings.temporal.task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        activities=[
            ledger.record_batch,
            slack.sync_slack_messages,
            slack.remind_slack_approvers,
            slack.notify_people,
            tickets.sync_change_ticket,
            tickets.sync_governance_ticket,
            containment.revoke_credential,
            webhooks.deliver_webhook,
            dormancy.sweep_dormancy,
        ],
        activity_executor=executor,
        max_concurrent_activities=executor._max_workers,
        graceful_shutdown_timeout=SHUTDOWN_GRACE,
        **{"max_cached_workflows": settings.temporal.workflow_cache_size, **options},
    )


async def start_dormancy_sweep(client: Client, settings: Settings) -> WorkflowHandle[Any, Any]:
    """Start the deployment's dormancy sweep unless it runs already (every worker asks)."""
    prefix = settings.temporal.workflow_id_prefix
    return await client.start_workflow(
        DormancySweepWorkflow.run,
        SweepInput(prefix=prefix),
        id=dormancy_sweep_workflow_id(prefix),
        task_queue=settings.temporal.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop the worker will run on (None when built outside one: no webhooks)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def cache_workflow_bytecode() -> None:
    """Write the bytecode of the workflow modules, which the sandbox re-executes for every run.

    Python writes no bytecode under PYTHONDONTWRITEBYTECODE (usual in containers, set here too);
    then every new workflow run compiles the `workflows/` modules from source again, about half
    the cost of starting a run. Up-to-date files are skipped; a read-only tree is left as it is.
    """
    for workflow_class in WORKFLOWS:
        source = inspect.getsourcefile(workflow_class)
        if source:
            compileall.compile_dir(os.path.dirname(source), quiet=2, maxlevels=0)


def slack_messenger(settings: Settings) -> SlackMessenger | None:
    """A Slack client when a bot token is configured, else None (approvals via CLI/API)."""
    if settings.slack.bot_token is None:
        return None
    return SlackMessenger.from_settings(settings.slack)


def jira_tracker(settings: Settings) -> JiraTracker | None:
    """A Jira client when Jira is configured, else None (tickets go to the local tracker)."""
    if not settings.jira.url:
        return None
    return JiraTracker.from_settings(settings.jira)


def settings_from_env() -> Settings:
    """Settings, with TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE honoured as overrides."""
    settings = get_settings()
    overrides = {
        "address": os.environ.get("TEMPORAL_ADDRESS"),
        "namespace": os.environ.get("TEMPORAL_NAMESPACE"),
    }
    temporal = settings.temporal.model_copy(update={k: v for k, v in overrides.items() if v})
    return settings.model_copy(update={"temporal": temporal})


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Connect, migrate the database and poll until `stop` is set (or forever)."""
    init_db(get_engine(settings.database_url))
    client = traced_client(await connect(settings), settings)
    with ThreadPoolExecutor(max_workers=32) as executor:
        worker = build_worker(client, settings, executor)
        log.info("worker polling %s on %s", settings.temporal.task_queue, settings.temporal.address)
        async with worker:
            sweep = await start_dormancy_sweep(client, settings)
            log.info("dormancy sweep %s running", sweep.id)
            await (stop.wait() if stop else asyncio.Event().wait())


def main() -> None:
    """Entry point for `python worker.py`."""
    setup_worker_process(get_settings())  # JSON logs; SDK metrics at worker_metrics_bind
    tune_gc()
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_worker(settings_from_env()))
    except TemporalConnectError as exc:  # one line naming the setting, no traceback
        print(f"worker: {exc}", file=sys.stderr, flush=True)
        os._exit(2)
    os._exit(0)


if __name__ == "__main__":
    main()
