"""The dashboard's decision views over HTTP: needs-my-decision, the request page, containment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import Session as DbSession
from temporalio.testing import WorkflowEnvironment

from db.tickets import comments
from tests.e2e.dashboard import browser, csrf_of, sign_in
from tests.e2e.test_credentials_actions import ADMIN, settings_for
from tests.e2e.test_promotion_tour import eventually, register_and_request
from tests.e2e.test_scope_changes import SYSTEM, cloudevent, in_production, send
from tests.harness import BUSINESS, REQUESTER, SECURITY, TECH, running_stack

pytestmark = pytest.mark.devserver
VIEWER = "viewer@example.com"
MINE = re.compile(r'<tr data-mine[^>]*><th scope="row"><a href="/requests/([^"]+)"')


async def test_request_page_decides_only_for_deciders_with_a_confirm_step(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """The request page (linked from Slack and Jira) shows the request; the requester and a
    viewer get no decide buttons and the home page lists it under "needs my decision" only for
    its approvers; a promotion approval asks to confirm first, and a refusal stays on the page."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        request_id = await register_and_request(stack)
        stack.token(REQUESTER, "approver")
        async with browser(stack) as rita, browser(stack) as dana, browser(stack) as viewer:
            await sign_in(rita, stack.tokens[REQUESTER])
            await sign_in(dana, stack.tokens[BUSINESS])
            await sign_in(viewer, stack.tokens[VIEWER])

            async def listed() -> bool:
                return request_id in MINE.findall((await dana.get("/")).text)

            assert await eventually(listed)
            assert MINE.findall((await rita.get("/")).text) == []
            shown = await rita.get(f"/requests/{request_id}")
            assert shown.status_code == 200, shown.text
            assert "promotion" in shown.text and "rita.requester@example.com" in shown.text
            assert f"Approve {request_id}" not in shown.text
            assert "four-eyes" in shown.text
            assert f"Approve {request_id}" not in (await viewer.get(f"/requests/{request_id}")).text
            assert f"Approve {request_id}" not in (await rita.get("/approvals")).text

            page = await dana.get(f"/requests/{request_id}")
            assert f"Approve {request_id}" in page.text
            form = {"csrf_token": csrf_of(page.text), "next": f"/requests/{request_id}"}
            blank = await dana.post(
                f"/approvals/{request_id}", data=form | {"decision": "reject", "reason": " "}
            )
            assert blank.status_code == 422
            assert (
                f"Request {request_id}" in blank.text and "a rejection needs a reason" in blank.text
            )
            asked = await dana.post(f"/approvals/{request_id}", data=form | {"decision": "approve"})
            assert asked.status_code == 200
            assert f"Confirm approval of {request_id}" in asked.text
            api = await stack.call("GET", f"/requests/{request_id}", REQUESTER)
            assert api.json()["decisions"] == []
            done = await dana.post(
                f"/approvals/{request_id}", data=form | {"decision": "approve", "confirm": "yes"}
            )
            assert done.status_code == 303, done.text
            assert done.headers["location"].startswith(f"/requests/{request_id}?decided=")
            api = await stack.call("GET", f"/requests/{request_id}", REQUESTER)
            assert [d["principal"] for d in api.json()["decisions"]] == [BUSINESS]
            assert (await dana.get("/requests/nope-1")).status_code == 404


async def test_estate_rows_show_where_a_system_runs_and_time_left(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A production system's row says production (not its manifest's pilot), in a production
    badge, with days left; a scope change on it records no "environment production → pilot";
    the manifest diff says yes/no and audit details read as a definition list, not JSON."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        sent = await send(stack, cloudevent({"remove_tools": ["search_kb"]}))
        assert sent.status_code == 200, sent.text
        assert "environment" not in sent.json()["message"], sent.json()["message"]
        events = await stack.call("GET", f"/audit/events?system={SYSTEM}", REQUESTER)
        assert "environment production → pilot" not in events.text
        async with browser(stack) as http:
            await sign_in(http, stack.tokens[TECH])
            text = (await http.get("/")).text
            row = text[text.index(f'<a href="/systems/{SYSTEM}"') :]
            row = row[: row.index("</tr>")]
            assert 'class="state state-production"' in row
            assert "<td data-env>production</td>" in row
            assert re.search(r"recertification: \d+ days? left", row), row
            assert "Why governed" not in text  # a tooltip on the id, not a column
            page = (await http.get(f"/systems/{SYSTEM}")).text
            assert "<td>True</td>" not in page and "<td>yes</td>" in page  # booleans for people
            pack = (await http.get(f"/evidence?system={SYSTEM}&format=html")).text
            assert '<dl class="detail">' in pack  # audit details as a definition list


async def test_contained_system_shows_revocation_and_release(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """Containing a system with a revalidation pending shows revocation status per credential,
    offers Release, and its withdrawn request says why (the system was contained)."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        sent = await send(stack, cloudevent({"add_write": ["crm.accounts"]}))
        request_id = sent.json()["request_id"]
        body = {"reason": "credential leaked in a log"}
        contained = await stack.call("POST", f"/systems/{SYSTEM}/contain", ADMIN, json=body)
        assert contained.status_code == 200, contained.text
        async with browser(stack) as http:
            await sign_in(http, stack.tokens[SECURITY])

            async def withdrawn() -> bool:
                page = await http.get(f"/requests/{request_id}")
                return "withdrawn: the system was contained" in page.text

            assert await eventually(withdrawn), (await http.get(f"/requests/{request_id}")).text
            page = (await http.get(f"/systems/{SYSTEM}")).text
            assert "superseded" not in page

            def ticket_says() -> str:
                assert stack.app is not None
                with DbSession(stack.app.state.engine) as db:
                    return " ".join(c.body for c in comments(db, request_id=request_id))

            async def commented() -> bool:
                return "withdrawn: the system was contained" in ticket_says()

            assert await eventually(commented), ticket_says()
            assert "superseded" not in ticket_says()
            assert re.search(r"<td data-revocation><span[^>]*>revocation \w+</span>", page), page
            assert f"Ask to release {SYSTEM}" in page
            released = await http.post(
                f"/systems/{SYSTEM}/release",
                data={"csrf_token": csrf_of(page), "comment": "key rotated"},
            )
            assert released.status_code == 303, released.text
            shown = await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)
            assert shown.json()["pending_request"]["kind"] == "release"


async def test_revalidation_request_page_shows_the_manifest_diff(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A revalidation's request page lists each field the change would put in force as path,
    approved value → value under review (no JSON, no environment field); once the request is
    withdrawn the page says the diff is shown only while it is pending."""
    async with running_stack(dev_env.client, settings_for(database_url, tmp_path)) as stack:
        await in_production(stack)
        sent = await send(stack, cloudevent({"add_write": ["crm.accounts"]}))
        assert sent.status_code == 200, sent.text
        request_id = sent.json()["request_id"]
        async with browser(stack) as http:
            await sign_in(http, stack.tokens[SECURITY])

            async def under_review() -> bool:
                return 'id="review-diff"' in (await http.get(f"/requests/{request_id}")).text

            assert await eventually(under_review)
            page = (await http.get(f"/requests/{request_id}")).text
            assert "Manifest under review" in page
            table = page[
                page.index('id="review-diff"') : page.index("</table>", page.index("review-diff"))
            ]
            cells = re.findall(
                r"<code>(.+?)</code></th><td><span class=\"before\">([^<]*)</span> → "
                r"<mark>([^<]*)</mark>",
                table,
            )
            rows = [(path.replace("<wbr>", ""), before, after) for path, before, after in cells]
            assert rows, table
            assert any(
                "crm.accounts" in after and "crm.accounts" not in before
                for _, before, after in rows
            ), rows
            assert ("capabilities.write_targets", "—", "crm.accounts") in rows
            assert all(path != "environment" for path, _, _ in rows)
            assert "{" not in table
            body = {"reason": "credential leaked in a log"}
            contained = await stack.call("POST", f"/systems/{SYSTEM}/contain", ADMIN, json=body)
            assert contained.status_code == 200, contained.text

            async def closed() -> bool:
                return 'id="no-review"' in (await http.get(f"/requests/{request_id}")).text

            assert await eventually(closed)
