"""JSON logs: one line per record, request and workflow ids, no traceback for expected failures."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio import activity, workflow
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from core.logging import REQUEST_ID, JsonFormatter, TextFormatter, temporal_details_as_fields
from core.settings import JiraSettings, SlackSettings
from integrations.slack import SlackTransientError
from tests.e2e.test_promotion_tour import eventually, register_and_request
from tests.emulators.jira import JiraEmulator
from tests.emulators.slack import SlackEmulator
from tests.harness import BUSINESS, REQUESTER, SECURITY, TECH, make_settings, running_stack

pytestmark = pytest.mark.devserver

PEOPLE = (BUSINESS, TECH, SECURITY, REQUESTER)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Everything logged at INFO or above during the test, through the JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    temporal_details_as_fields()  # as configure_logging does for the json format
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        activity.logger.activity_info_on_message = True
        workflow.logger.workflow_info_on_message = True


async def test_transient_slack_and_jira_failures_log_one_json_line_each(
    dev_env: WorkflowEnvironment, tmp_path: Path, captured: io.StringIO
) -> None:
    """Slack 429 and 503 and Jira 503 through the emulators log single-line JSON, no traceback."""
    with SlackEmulator() as slack, JiraEmulator(deployment="Cloud") as jira:
        for email in PEOPLE:
            slack.add_user(email)
        settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
        settings.slack = SlackSettings(
            bot_token=SecretStr(slack.token),
            signing_secret=SecretStr("8f742231b10e8888abcd99yyyzzz85a5"),
            api_url=slack.base_url,
        )
        settings.jira = JiraSettings(
            url=jira.url, user=jira.user, api_token=SecretStr(jira.api_token)
        )
        slack.fail_next("chat.postMessage", status=429, retry_after=1, times=1)
        slack.fail_next("conversations.open", status=503, times=1)
        jira.fail_next("/rest/api/2/", status=503, times=2)
        async with running_stack(dev_env.client, settings) as stack:
            request_id = await register_and_request(stack)

            async def delivered() -> bool:
                answer = await stack.call("GET", f"/requests/{request_id}", REQUESTER)
                return len(slack.calls("chat.postMessage")) >= 4 and bool(
                    answer.json().get("ticket")
                )

            assert await eventually(delivered, timeout=30)
    lines = captured.getvalue().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one whole JSON object
    assert "Traceback" not in captured.getvalue()
    failed = [r for r in records if r["message"] == "Completing activity as failed"]
    errors = " ".join(r["error"] for r in failed)
    assert "SlackRateLimited" in errors and "SlackTransientError" in errors, failed
    assert "TrackerTransientError" in errors or any(
        r["message"].startswith("jira unavailable") for r in records
    ), records
    assert all(r["transient"] is True and "exc" not in r for r in failed)
    assert all(r["workflow_id"].startswith(settings.temporal.workflow_id_prefix) for r in failed)
    assert {r["activity"] for r in failed} >= {"sync_slack_messages", "sync_change_ticket"}


def test_an_unexpected_failure_keeps_its_traceback() -> None:
    """A failure that is not an expected transient one keeps its traceback, inside the one JSON line."""
    logger = logging.getLogger("threshold.test.unexpected")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    token = REQUEST_ID.set("req-42")
    try:
        try:
            raise ValueError("a bug")
        except ValueError:
            logger.exception("activity failed")
        try:
            raise SlackTransientError("Slack chat.postMessage answered 503")
        except SlackTransientError:
            logger.warning("slack down", exc_info=True)
    finally:
        REQUEST_ID.reset(token)
        logger.removeHandler(handler)
    bug, transient = (json.loads(line) for line in stream.getvalue().splitlines())
    assert bug["request_id"] == "req-42"
    assert bug["error"] == "ValueError: a bug"
    assert bug["exc"].startswith("Traceback") and "raise ValueError" in bug["exc"]
    assert transient["transient"] is True and "exc" not in transient


def test_text_format_keeps_expected_failures_on_one_line() -> None:
    """The text format (development) also drops the traceback of an expected transient failure."""
    formatter = TextFormatter()
    try:
        raise SlackTransientError("Slack chat.postMessage answered 503")
    except SlackTransientError:
        record = logging.LogRecord("t", logging.WARNING, __file__, 1, "slack down", None, None)
        record.exc_info = sys.exc_info()
    line = formatter.format(record)
    assert "\n" not in line
    assert line.endswith("slack down: SlackTransientError: Slack chat.postMessage answered 503")


async def test_request_id_is_echoed_or_generated(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The API echoes the caller's X-Request-ID, and makes one up when the caller sent none."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    async with running_stack(dev_env.client, settings) as stack:
        given = await stack.call("GET", "/systems", REQUESTER, headers={"X-Request-ID": "deploy-7"})
        made = await stack.call("GET", "/systems", REQUESTER)
        junk = await stack.call("GET", "/systems", REQUESTER, headers={"X-Request-ID": "a b\tc"})
    assert given.headers["X-Request-ID"] == "deploy-7"
    assert len(made.headers["X-Request-ID"]) == 32
    assert junk.headers["X-Request-ID"] != "a b\tc"


def test_temporal_unavailable_is_an_expected_transient_failure() -> None:
    """A Temporal RPC that failed UNAVAILABLE logs one line; a PERMISSION_DENIED keeps its traceback."""
    formatter = JsonFormatter()
    lines = []
    for status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.PERMISSION_DENIED):
        try:
            raise RPCError(f"rpc failed: {status.name}", status, b"")
        except RPCError:
            record = logging.LogRecord(
                "t", logging.WARNING, __file__, 1, "poll", None, sys.exc_info()
            )
        lines.append(json.loads(formatter.format(record)))
    unavailable, denied = lines
    assert unavailable["transient"] is True and "exc" not in unavailable
    assert "transient" not in denied and denied["exc"].startswith("Traceback")
