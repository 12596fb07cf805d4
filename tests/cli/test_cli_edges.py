"""CLI at the edges: exit 3 for what may be retried, empty tokens refused, token expiry shown."""

from __future__ import annotations

import json

from cli import render
from cli.client import EMPTY_TOKEN, UNAVAILABLE

PAGE = {"items": [], "total": 0, "limit": 50, "offset": 0}
DOWN = {
    "error": {
        "message": "no worker is processing task queue 'threshold'",
        "problems": [{"field": "worker", "message": "retry after 2 s"}],
    }
}


def test_a_503_exits_3_with_the_message_and_when_to_retry(api, cli):
    """A 503 from the API exits 3 (retry) and prints what is down and the Retry-After."""
    api.reply("GET", "/systems", 503, DOWN)
    result = cli("systems", "list")
    assert result.exit_code == UNAVAILABLE == 3
    assert "no worker is processing task queue" in result.stderr


def test_an_unreachable_api_exits_3(api, cli, no_network):
    """A connection refused exits 3, so a deploy script can retry."""
    assert cli("systems", "list").exit_code == 3


def test_status_codes_map_to_exit_codes(api, cli):
    """429 and 5xx exit 3, 403/409 exit 1, 401/404/422 exit 2."""
    error = {"error": {"message": "x", "problems": []}}
    codes = {}
    for status in (429, 500, 502, 503, 403, 409, 401, 404, 422):
        api.reply("GET", "/systems", status, error)
        codes[status] = cli("systems", "list").exit_code
    assert codes == {429: 3, 500: 3, 502: 3, 503: 3, 403: 1, 409: 1, 401: 2, 404: 2, 422: 2}


def test_an_empty_threshold_token_is_an_error_not_the_admin_file(api, cli, monkeypatch, tmp_path):
    """THRESHOLD_TOKEN set but empty exits 2 with one line, even when an admin file exists."""
    (tmp_path / ".threshold").mkdir()
    (tmp_path / ".threshold" / "admin-token").write_text("admin-from-file\n")
    monkeypatch.setenv("THRESHOLD_TOKEN", "")
    api.reply("GET", "/systems", 200, PAGE)
    result = cli("systems", "list")
    assert result.exit_code == 2
    assert EMPTY_TOKEN in result.stderr
    assert api.requests == []
    blank = cli("--token", "  ", "systems", "list")
    assert blank.exit_code == 2 and api.requests == []


def test_the_admin_file_is_announced_once_on_stderr(api, cli, monkeypatch, tmp_path):
    """Without THRESHOLD_TOKEN the CLI says once on stderr that it uses the local admin file."""
    monkeypatch.delenv("THRESHOLD_TOKEN")
    (tmp_path / ".threshold").mkdir()
    (tmp_path / ".threshold" / "admin-token").write_text("from-file\n")
    api.reply("GET", "/systems", 200, PAGE)
    result = cli("systems", "list")
    assert result.exit_code == 0
    assert result.stderr.count("using the local admin token") == 1
    assert "using the local admin token" not in result.stdout


def test_tokens_issue_sends_expires_and_key_and_list_shows_expiry_and_last_use(
    api, cli, monkeypatch
):
    """`tokens issue --expires 30d --id k` sends both; `tokens list` shows expiry and last use."""
    issued = {
        "id": "abc123abc123",
        "principal": "ci@example.com",
        "role": "emitter",
        "label": "",
        "created_at": "2026-12-01T10:00:00+00:00",
        "expires_at": "2026-12-31T10:00:00+00:00",
        "token": "thr_abc123abc123_secretvalue",
    }
    api.reply("POST", "/tokens", 201, issued)
    result = cli(
        "tokens", "issue", "--principal", "ci@example.com", "--role", "emitter",
        "--expires", "30d", "--id", "ci-1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    sent = api.requests[-1]
    assert json.loads(sent.content)["expires"] == "30d"
    assert sent.headers["idempotency-key"] == "ci-1"
    assert "2026-12-31" in result.stdout
    listed = {**issued, "last_used_at": "2026-12-02T08:00:00+00:00"}
    del listed["token"]
    api.reply("GET", "/tokens", 200, [listed])
    monkeypatch.setattr(render.console, "width", 200)  # a wide terminal: no wrapped cells
    table = cli("tokens", "list")
    assert "last used" in table.stdout and "2026-12-02" in table.stdout


def test_a_repeated_token_issue_says_the_value_was_shown_once(api, cli):
    """A repeat answered 200 with no value prints the token id and why no value is shown."""
    repeat = {
        "id": "abc123abc123",
        "principal": "ci@example.com",
        "role": "emitter",
        "label": "",
        "created_at": "2026-12-01T10:00:00+00:00",
        "token": None,
        "repeat": True,
        "message": "this key already issued token abc123abc123; its value is shown only at "
        "first issue",
    }
    api.reply("POST", "/tokens", 200, repeat)
    result = cli("tokens", "issue", "--principal", "ci@example.com", "--role", "emitter")
    assert result.exit_code == 0
    assert "shown only at first issue" in result.stdout
    assert "None" not in result.stdout
