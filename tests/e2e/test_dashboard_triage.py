"""The dashboard's triage views over HTTP: counters that equal their links, findings to acknowledge."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.e2e.dashboard import browser, csrf_of, sign_in
from tests.e2e.test_credentials_actions import (
    ADMIN,
    SYSTEM,
    action,
    audit_actions,
    post_actions,
    settings_for,
)
from tests.e2e.test_promotion_tour import eventually, manifest
from tests.e2e.test_scope_changes import in_production
from tests.harness import REQUESTER, TECH, running_stack

pytestmark = pytest.mark.devserver
VIEWER = "viewer@example.com"
COUNTER = re.compile(
    r'<a href="([^"]+)" data-counter="([^"]+)"><strong data-count>([^<]+)</strong>'
)


async def counters(http: httpx.AsyncClient) -> dict[str, tuple[str, int]]:
    """Each estate counter's label -> (link, number)."""
    text = (await http.get("/")).text
    found = {
        label: (html.unescape(href), int(number)) for href, label, number in COUNTER.findall(text)
    }
    assert found, "no counters on the estate page"
    return found


async def rows_behind(http: httpx.AsyncClient, href: str) -> int:
    """How many rows the page a counter links to lists."""
    shown = await http.get(href)
    assert shown.status_code == 200, (href, shown.text)
    return shown.text.count("<tr data-row")


async def mismatches(http: httpx.AsyncClient) -> list[tuple[str, int, int]]:
    """(label, counted, rows listed) of every counter whose link lists another number of rows."""
    figures = await counters(http)
    listed = {label: await rows_behind(http, href) for label, (href, _) in figures.items()}
    return [(k, n, listed[k]) for k, (_, n) in figures.items() if listed[k] != n]


async def assert_counters_equal_links(http: httpx.AsyncClient) -> dict[str, int]:
    """Every counter is a link, and once the projection settles its number is the number of
    rows the link shows."""

    async def equal() -> bool:
        return not await mismatches(http)

    assert await eventually(equal), await mismatches(http)
    return {label: number for label, (_, number) in (await counters(http)).items()}


async def test_every_counter_equals_the_rows_its_link_shows(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """With a revalidating production system, a pilot, findings and then a containment, each
    estate counter is a link listing exactly as many rows as it counts; an acknowledged finding
    leaves the open count (audited with its reason), and a contained system is counted."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        pilot = manifest("internal-summariser")
        assert (await stack.call("POST", "/systems", REQUESTER, json=pilot)).status_code == 201
        await post_actions(stack, [action(tool="send_email", target="crm.accounts")])
        async with browser(stack) as http:
            await sign_in(http, stack.tokens[TECH])

            async def settled() -> bool:
                figures = await counters(http)
                return figures["open findings"][1] == 2 and figures["pending approvals"][1] == 1

            assert await eventually(settled), await counters(http)
            figures = await assert_counters_equal_links(http)
            assert figures["in production"] == 1  # revalidation_pending still runs in production
            assert figures["contained"] == 0

            findings = await http.get("/findings")
            acknowledged = await http.post(
                f"/findings/{SYSTEM}/tool_out_of_scope/acknowledge",
                data={
                    "csrf_token": csrf_of(findings.text),
                    "reason": "send_email is being added to the manifest",
                    "next": "/findings",
                },
            )
            assert acknowledged.status_code == 303, acknowledged.text
            figures = await assert_counters_equal_links(http)
            assert figures["open findings"] == 1
            assert "tool_out_of_scope" not in (await http.get("/findings")).text
            page = (await http.get(f"/systems/{SYSTEM}")).text
            assert "send_email is being added to the manifest" in page
        assert "finding_acknowledged" in await audit_actions(stack)

        body = {"reason": "credential leaked in a log"}
        contained = await stack.call("POST", f"/systems/{SYSTEM}/contain", ADMIN, json=body)
        assert contained.status_code == 200, contained.text
        async with browser(stack) as http:
            await sign_in(http, stack.tokens[TECH])

            async def counted() -> bool:
                figures = await counters(http)
                return figures["contained"][1] == 1 and figures["pending approvals"][1] == 0

            assert await eventually(counted), await counters(http)
            figures = await assert_counters_equal_links(http)
            assert figures["in production"] == 0


async def test_a_viewer_cannot_acknowledge_and_a_reason_is_required(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A viewer's acknowledgement is refused (403) and an approver's without a reason is refused
    (422); the finding stays open."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        await post_actions(stack, [action(tool="send_email")])
        path = f"/findings/{SYSTEM}/tool_out_of_scope/acknowledge"
        async with browser(stack) as viewer, browser(stack) as tech:
            await sign_in(viewer, stack.tokens[VIEWER])
            listed = await viewer.get("/findings")
            assert "Acknowledge tool_out_of_scope" not in listed.text
            denied = await viewer.post(
                path, data={"csrf_token": csrf_of(listed.text), "reason": "x"}
            )
            assert denied.status_code == 403
            await sign_in(tech, stack.tokens[TECH])
            listed = await tech.get("/findings")
            blank = await tech.post(path, data={"csrf_token": csrf_of(listed.text), "reason": " "})
            assert blank.status_code == 422
            assert "tool_out_of_scope" in (await tech.get("/findings")).text
