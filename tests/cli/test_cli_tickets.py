"""`threshold tickets`: the change-request list, one ticket, and its errors."""

from __future__ import annotations

import json

TICKET = {
    "key": "THR-1",
    "request_id": "s1-1",
    "system_id": "s1",
    "kind": "promotion",
    "summary": "[Threshold] Promote S1 (s1) to production",
    "status": "done",
    "tracker": "local",
    "url": None,
    "created_at": "2026-11-26T10:00:00Z",
    "updated_at": "2026-11-26T11:00:00Z",
}
PAGE = {"items": [TICKET], "total": 1, "limit": 50, "offset": 0}


def test_tickets_lists_a_table_and_passes_filters(api, cli):
    """`tickets --system s1 --status done` asks for those tickets and shows key and status."""
    api.reply("GET", "/tickets", 200, PAGE)
    result = cli("tickets", "--system", "s1", "--status", "done")
    assert result.exit_code == 0, result.output
    assert "THR-1" in result.stdout and "done" in result.stdout and "s1-1" in result.stdout
    params = api.requests[0].url.params
    assert (params["system"], params["status"]) == ("s1", "done")


def test_tickets_json_is_the_raw_page(api, cli):
    """`tickets --json` prints the API's page as parseable JSON."""
    api.reply("GET", "/tickets", 200, PAGE)
    result = cli("tickets", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == PAGE


def test_ticket_key_shows_description_and_comments(api, cli):
    """`tickets THR-1` shows the ticket's description and each comment."""
    detail = {
        **TICKET,
        "description": "Threshold approval request s1-1 asks for approval",
        "comments": [
            {"event": "decision-1", "body": "bo@example.com approved", "at": "2026-11-26T10:30:00Z"}
        ],
    }
    api.reply("GET", "/tickets/THR-1", 200, detail)
    result = cli("tickets", "THR-1")
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "asks for approval" in out and "decision-1" in out and "bo@example.com approved" in out


def test_unknown_ticket_exits_2(api, cli):
    """An unknown key is an input error: exit 2 with the API's message."""
    api.reply("GET", "/tickets/THR-9", 404, {"error": {"message": "ticket THR-9 not found"}})
    result = cli("tickets", "THR-9")
    assert result.exit_code == 2
    assert "THR-9 not found" in result.stderr
