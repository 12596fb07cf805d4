"""Evidence packs of a system that went through promotion, change, recertification and an
exception: each event once, in its section, with the right controls."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.e2e.dashboard import browser, sign_in
from tests.e2e.test_promotion_tour import eventually, manifest
from tests.e2e.test_scope_changes import NEW_WRITE, SYSTEM, cloudevent, decide, send
from tests.harness import BUSINESS, REQUESTER, SECURITY, TECH, Stack, make_settings, running_stack

pytestmark = pytest.mark.devserver


async def in_production_with_an_exception(stack: Stack) -> None:
    """Register without a logging policy, have security waive that gap for 30 days, promote."""
    data = manifest(SYSTEM)
    data["logging"] = None
    created = await stack.call("POST", "/systems", REQUESTER, json=data)
    assert created.status_code == 201, created.text
    until = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0).isoformat()
    asked = await stack.call(
        "POST",
        f"/systems/{SYSTEM}/exceptions",
        REQUESTER,
        json={"gap": "no_logging_policy", "until": until, "reason": "vendor logging fix due"},
    )
    assert asked.status_code == 202, asked.text
    waiver = asked.json()["system"]["exceptions"][0]
    assert (await decide(stack, waiver["request_id"], SECURITY)).status_code == 200

    async def waived() -> bool:
        shown = (await stack.call("GET", f"/systems/{SYSTEM}", REQUESTER)).json()
        return bool(shown["exceptions"][0]["status"] == "active")

    assert await eventually(waived)
    promoted = await stack.call("POST", f"/systems/{SYSTEM}/promotion", REQUESTER, json={})
    assert promoted.status_code == 202, promoted.text
    request_id = promoted.json()["system"]["pending_request"]["id"]
    for who in (BUSINESS, TECH, SECURITY):
        assert (await decide(stack, request_id, who)).status_code == 200


async def lived_a_full_life(stack: Stack) -> None:
    """An exception, promotion, a material change revalidated and a recertification."""
    await in_production_with_an_exception(stack)
    sent = await send(stack, cloudevent(NEW_WRITE))
    request_id = sent.json()["request_id"]
    assert (await decide(stack, request_id, TECH)).status_code == 200
    assert (await decide(stack, request_id, SECURITY)).status_code == 200

    async def revalidated() -> bool:
        events = await stack.call("GET", f"/audit/events?system={SYSTEM}", REQUESTER)
        return "revalidation_approved" in [e["action"] for e in events.json()]

    assert await eventually(revalidated)
    for owner in (BUSINESS, TECH):  # the first attestation opens the cycle's request early
        attested = await stack.call(
            "POST", f"/systems/{SYSTEM}/recertification", owner, json={"approve": True}
        )
        assert attested.status_code == 200, attested.text

    async def recertified() -> bool:
        events = await stack.call("GET", f"/audit/events?system={SYSTEM}", REQUESTER)
        return "recertified" in [e["action"] for e in events.json()]

    assert await eventually(recertified)


ONCE = [
    "registered",
    "promotion_requested",
    "promotion_approved",
    "entered_production",
    "scope_change_assessed",
    "revalidation_requested",
    "revalidation_approved",
    "recertification_requested",
    "recertified",
    "exception_requested",
    "exception_granted",
]


async def test_evidence_pack_holds_each_event_once_with_its_controls(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """JSON: every ledger entry once and in order up to the head; approvals with approvers and
    times; the crosswalk names GV.OV-01..03, ID.RA-07, GOVERN 1-2 and lists RS.MI-01 as missing."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        await lived_a_full_life(stack)
        response = await stack.call("GET", f"/audit/export?system={SYSTEM}&format=json", REQUESTER)
        assert response.status_code == 200, response.text
        pack = response.json()
        (system,) = pack["systems"]
        entries = [e for section in system["sections"].values() for e in section]
        seqs = sorted(e["seq"] for e in entries)
        assert seqs == list(range(1, system["ledger_head"]["seq"] + 1))
        actions = [e["action"] for e in entries]
        for action in ONCE:
            assert actions.count(action) == 1, action
        recertifications = [e["action"] for e in system["sections"]["recertifications"]]
        assert [a for a in recertifications if a in ONCE] == [
            "recertification_requested",
            "recertified",
        ]
        assert [e["action"] for e in system["sections"]["exceptions"]] == [
            "exception_requested",
            "exception_granted",
        ]
        granted = system["sections"]["exceptions"][1]
        assert {"ID.RA-07", "GV.OV-02"} <= set(granted["controls"])

        waiver, promotion, revalidation, recertification = system["approvals"]
        assert waiver["kind"] == "exception" and waiver["status"] == "approved"
        assert [d["principal"] for d in waiver["decisions"]] == [SECURITY]
        assert promotion["kind"] == "promotion" and promotion["status"] == "approved"
        assert {d["principal"] for d in promotion["decisions"]} == {BUSINESS, TECH, SECURITY}
        assert all(d["at"] for d in promotion["decisions"])
        assert revalidation["kind"] == "revalidation"
        assert recertification["kind"] == "recertification"
        assert {d["principal"] for d in recertification["decisions"]} == {BUSINESS, TECH}
        assert system["business_owner"] == BUSINESS
        assert system["data_classification"] == "confidential"
        assert system["use_cases"]

        supported = {c["control"]["id"]: c["evidence"] for c in system["crosswalk"]["supported"]}
        assert supported["GV.OV-03"]["recertified"] == 1
        assert supported["GV.OV-01"]["promotion_approved"] == 1
        assert "scope_change_assessed" in supported["ID.RA-07"]
        assert "exception_granted" in supported["ID.RA-07"]
        assert {"GV.OV-02", "GOVERN-1", "GOVERN-2", "GV.RR-02", "PR.AA-05"} <= set(supported)
        missing = {c["id"] for c in pack["crosswalk"]["without_evidence"]}
        assert {"RS.MI-01", "DE.CM-09", "NHI5"} <= missing
        assert not missing & set(supported)


async def test_evidence_pack_as_csv_html_and_from_the_dashboard(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """CSV has one event row per ledger entry and the chain head; HTML names the controls; the
    dashboard serves the same pack to a signed-in viewer; `all` and `since` are honoured."""
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        await lived_a_full_life(stack)
        text = (await stack.call("GET", "/audit/export?all=true&format=csv", REQUESTER)).text
        rows = list(csv.DictReader(io.StringIO(text)))
        events = [r for r in rows if r["record"] == "event"]
        assert sorted(int(r["seq"]) for r in events) == list(range(1, len(events) + 1))
        (head,) = [r for r in rows if r["record"] == "ledger_head"]
        assert int(head["seq"]) == len(events)
        assert any(
            r["record"] == "control_without_evidence" and r["controls"] == "RS.MI-01" for r in rows
        )

        later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        empty = await stack.call(
            "GET", "/audit/export", REQUESTER, params={"system": SYSTEM, "since": later}
        )
        assert all(not entries for entries in empty.json()["systems"][0]["sections"].values())
        assert empty.json()["systems"][0]["ledger_head"]["seq"] == len(events)

        refused = await stack.call("GET", "/audit/export", REQUESTER)
        assert refused.status_code == 422
        assert refused.json()["error"]["problems"][0]["field"] == "system"

        async with browser(stack) as http:
            await sign_in(http, stack.tokens["viewer@example.com"])
            page = await http.get(f"/evidence?system={SYSTEM}&format=html")
            assert page.status_code == 200
            assert "attachment" in page.headers["content-disposition"]
            assert "GV.OV-03" in page.text and "recertified" in page.text
            assert "Controls with no evidence yet" in page.text
