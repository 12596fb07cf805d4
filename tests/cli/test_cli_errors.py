"""Configuration and error reporting: tokens, API problems, bad files."""

from __future__ import annotations

import json
import sys
import types

from cli.client import NO_TOKEN

PAGE = {"items": [], "total": 0, "limit": 50, "offset": 0}


def test_no_token_says_how_to_get_one(cli, tmp_path):
    """Without THRESHOLD_TOKEN or a token file the CLI exits 2 and says how to get a token."""
    result = cli("systems", "list")
    assert result.exit_code == 2
    assert NO_TOKEN in result.stderr
    assert "Traceback" not in result.output


def test_token_comes_from_the_admin_token_file(api, cli, monkeypatch, tmp_path):
    """With no THRESHOLD_TOKEN the token in .threshold/admin-token is sent as a bearer token."""
    monkeypatch.delenv("THRESHOLD_TOKEN")
    (tmp_path / ".threshold").mkdir()
    (tmp_path / ".threshold" / "admin-token").write_text("from-file\n")
    api.reply("GET", "/systems", 200, PAGE)
    assert cli("systems", "list").exit_code == 0
    assert api.requests[0].headers["authorization"] == "Bearer from-file"


def test_token_file_under_data_dir_and_option_overrides(api, cli, monkeypatch, tmp_path):
    """The token file is found under THRESHOLD_DATA_DIR, and --token overrides it."""
    monkeypatch.delenv("THRESHOLD_TOKEN")
    data = tmp_path / "state"
    data.mkdir()
    (data / "admin-token").write_text("data-dir-token")
    monkeypatch.setenv("THRESHOLD_DATA_DIR", str(data))
    api.reply("GET", "/systems", 200, PAGE)
    cli("systems", "list")
    cli("--token", "explicit", "systems", "list")
    sent = [r.headers["authorization"] for r in api.requests]
    assert sent == ["Bearer data-dir-token", "Bearer explicit"]


def test_api_422_prints_message_and_each_field(api, cli, tmp_path):
    """A 422 from the API exits 2 and prints the message and '  - field: message' lines."""
    body = {
        "error": {
            "message": "the manifest is invalid",
            "problems": [
                {"field": "business_owner", "message": "set the business owner's email"},
                {"field": "use_cases.0.purpose", "message": "say what the use case is for"},
            ],
        }
    }
    api.reply("POST", "/systems", 422, body)
    manifest = tmp_path / "m.yaml"
    manifest.write_text("id: s1\nname: S1\n")
    result = cli("systems", "register", str(manifest))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "error: the manifest is invalid"
    assert "  - business_owner: set the business owner's email" in lines
    assert "  - use_cases.0.purpose: say what the use case is for" in lines


def test_promotion_refusal_lists_every_gap(api, cli):
    """A 409 on promote exits 1 and prints every blocking gap."""
    problems = [
        {"field": "credentials.0.expires_at", "message": "set an expiry"},
        {"field": "use_cases.0.human_approval", "message": "name what a human approves"},
    ]
    body = {"error": {"message": "promotion blocked by 2 gaps", "problems": problems}}
    api.reply("POST", "/systems/s1/promotion", 409, body)
    result = cli("promote", "s1", "--comment", "ready")
    assert result.exit_code == 1
    assert "  - credentials.0.expires_at: set an expiry" in result.stderr
    assert "  - use_cases.0.human_approval: name what a human approves" in result.stderr
    assert json.loads(api.requests[0].content) == {"comment": "ready"}


def test_bad_yaml_file_is_an_input_error(api, cli, tmp_path):
    """A manifest that is not valid YAML exits 2 naming the file, and nothing is sent."""
    manifest = tmp_path / "broken.yaml"
    manifest.write_text("id: [unclosed\n")
    result = cli("systems", "register", str(manifest))
    assert result.exit_code == 2
    assert "broken.yaml is not valid YAML" in result.stderr
    assert api.requests == []


def test_missing_file_is_a_usage_error(api, cli):
    """A manifest path that does not exist is a usage error (exit 2)."""
    assert cli("systems", "register", "nowhere.yaml").exit_code == 2
    assert api.requests == []


def test_error_body_that_is_not_json_still_reads_well(api, cli):
    """A non-JSON error (a proxy's 502) exits 3 (retry) with the status and text, no traceback."""
    api.reply("GET", "/systems/s1", 502, None)
    result = cli("systems", "show", "s1")
    assert result.exit_code == 3
    assert result.stderr.startswith("error: HTTP 502")


def test_up_delegates_options_to_core_up(cli, monkeypatch, tmp_path):
    """`threshold up` passes its options to `core.up.main` (None for defaults) and its status."""
    calls = []

    def fake_main(**options):
        calls.append(options)
        return 3

    module = types.ModuleType("core.up")
    module.main = fake_main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "core.up", module)
    result = cli("up", "--api-port", "9000", "--data-dir", str(tmp_path))
    assert result.exit_code == 3
    assert calls == [
        {
            "data_dir": tmp_path,
            "api_port": 9000,
            "temporal_port": None,
            "ui_port": None,
            "api_processes": 1,
            "workers": 1,
        }
    ]
