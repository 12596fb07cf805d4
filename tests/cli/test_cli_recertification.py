"""`threshold recertify`, `systems list --overdue/--due-within`, `exceptions`, `policy apply`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.cli.conftest import FakeApi
from tests.cli.test_cli_commands import REQUEST, VIEW

EXCEPTION = {
    "gap": "no_logging_policy",
    "until": "2027-01-31T00:00:00Z",
    "reason": "vendor fix",
    "requested_by": "rita@example.com",
    "requested_at": "2026-11-01T00:00:00Z",
    "request_id": "s1-2",
    "status": "active",
    "granted_by": ["sam@example.com"],
}


def test_recertify_attests_and_reject_sends_the_reason(
    api: FakeApi, cli: Callable[..., Any]
) -> None:
    """Approve by default; --reject sends approve false with the reason."""
    done = {**REQUEST, "kind": "recertification", "status": "approved"}
    api.reply(
        "POST",
        "/systems/s1/recertification",
        200,
        {"command_id": "c", "message": "ok", "request": done},
    )
    result = cli("recertify", "s1", "-m", "all good")
    assert result.exit_code == 0, result.output
    assert "approved" in result.output
    assert json.loads(api.requests[-1].content) == {"approve": True, "comment": "all good"}
    cli("recertify", "s1", "--reject", "access no longer needed")
    assert json.loads(api.requests[-1].content) == {
        "approve": False,
        "comment": "access no longer needed",
    }


def test_systems_list_sends_the_recertification_filters(
    api: FakeApi, cli: Callable[..., Any]
) -> None:
    """--overdue and --due-within become query parameters; the table shows the due date."""
    row = {
        "id": "s1",
        "name": "Support bot",
        "state": "overdue",
        "risk_tier": "high",
        "recertification_due_at": "2027-01-01T00:00:00Z",
        "overdue_since": "2027-01-08T00:00:00Z",
    }
    api.reply("GET", "/systems", 200, {"items": [row], "total": 1, "limit": 50, "offset": 0})
    result = cli("systems", "list", "--overdue", "--due-within", "30d")
    assert result.exit_code == 0, result.output
    params = api.requests[-1].url.params
    assert params["overdue"] == "true" and params["due_within"] == "30d"
    assert "overdue" in result.output


def test_systems_show_shows_recertification_and_waivers(
    api: FakeApi, cli: Callable[..., Any]
) -> None:
    """The detail names the cycle, due date, overdue state and each waiver with its expiry."""
    recert = {
        "cycle": 2,
        "due_at": "2027-01-01T00:00:00Z",
        "overdue_since": "2027-01-08T00:00:00Z",
        "ticket": "GOV-7",
    }
    view = {**VIEW, "recertification": recert, "exceptions": [EXCEPTION], "pending_request": None}
    api.reply("GET", "/systems/s1", 200, view)
    result = cli("systems", "show", "s1")
    assert result.exit_code == 0, result.output
    assert "OVERDUE" in result.output and "GOV-7" in result.output
    assert "no_logging_policy until 2027-01-31" in result.output


def test_exceptions_grant_list_and_revoke(api: FakeApi, cli: Callable[..., Any]) -> None:
    """Grant posts gap/until/reason; list shows soonest first; revoke posts to the exception."""
    api.reply(
        "POST",
        "/systems/s1/exceptions",
        202,
        {"command_id": "c", "message": "awaits security", "system": VIEW},
    )
    result = cli(
        "exceptions",
        "grant",
        "s1",
        "--gap",
        "no_logging_policy",
        "--until",
        "2027-01-31",
        "--reason",
        "vendor fix",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(api.requests[-1].content) == {
        "gap": "no_logging_policy",
        "until": "2027-01-31",
        "reason": "vendor fix",
    }
    api.reply(
        "GET",
        "/exceptions",
        200,
        [{"system_id": "s1", "system_state": "production", "exception": EXCEPTION}],
    )
    listed = cli("exceptions", "list", "--expiring-within", "14d", "--json")
    assert listed.exit_code == 0 and "no_logging_policy" in listed.output
    assert api.requests[-1].url.params["expiring_within"] == "14d"
    api.reply(
        "POST",
        "/systems/s1/exceptions/s1-2/revoke",
        200,
        {"command_id": "c", "message": "revoked", "system": VIEW},
    )
    revoked = cli("exceptions", "revoke", "s1", "s1-2", "--reason", "fixed")
    assert revoked.exit_code == 0 and "revoked" in revoked.output


def test_bad_window_is_an_input_error(api: FakeApi, cli: Callable[..., Any]) -> None:
    """A 422 naming due_within exits 2."""
    problem = {"field": "due_within", "message": "give a number of days, e.g. 30d"}
    api.reply(
        "GET", "/systems", 422, {"error": {"message": "due_within: 'soon'", "problems": [problem]}}
    )
    result = cli("systems", "list", "--due-within", "soon")
    assert result.exit_code == 2


def test_policy_apply_lists_each_system(api: FakeApi, cli: Callable[..., Any]) -> None:
    """Each system's outcome is printed."""
    api.reply("POST", "/policy/apply", 200, {"policy": "2026-12", "systems": {"s1": "moved"}})
    result = cli("policy", "apply")
    assert result.exit_code == 0 and "s1: moved" in result.output
