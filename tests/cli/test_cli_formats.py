"""`systems show --at` and MCP events: what the CLI sends and prints."""

from __future__ import annotations

import json

AT = {
    "system_id": "s1",
    "at": "2026-11-30T12:00:00Z",
    "state": "production",
    "registered_at": "2026-11-01T09:00:00Z",
    "declared_manifest": {"id": "s1"},
    "approved_manifest": {"id": "s1", "model": {"provider": "acme", "name": "m", "version": "1"}},
    "approved_at": "2026-11-02T09:00:00Z",
    "approved_by": ["bo@example.com", "sec@example.com"],
    "approval_request": "s1-1",
    "credentials": ["crm-key"],
    "entries": 9,
}


def test_show_at_passes_the_time_and_prints_the_approval(api, cli):
    """`systems show s1 --at T` asks for `at=T` and prints who approved it and the credentials."""
    api.reply("GET", "/systems/s1", 200, AT)
    result = cli("systems", "show", "s1", "--at", "2026-11-30T12:00:00Z")
    assert result.exit_code == 0, result.output
    assert api.requests[0].url.params["at"] == "2026-11-30T12:00:00Z"
    out = " ".join(result.stdout.split())
    for text in ("s1-1", "sec@example.com", "crm-key", "production"):
        assert text in out


def test_show_at_json_and_refusal(api, cli):
    """`--json` prints the answer as sent; a 404 before registration is shown as the error."""
    api.reply("GET", "/systems/s1", 200, AT)
    assert json.loads(cli("systems", "show", "s1", "--at", "x", "--json").stdout) == AT
    api.reply(
        "GET",
        "/systems/s1",
        404,
        {"error": {"message": "s1 was not registered at 2020", "problems": []}},
    )
    result = cli("systems", "show", "s1", "--at", "2020-01-01")
    assert result.exit_code != 0
    assert "was not registered at 2020" in result.output
