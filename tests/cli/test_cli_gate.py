"""The deploy gate and its exit codes, which deploy scripts branch on."""

from __future__ import annotations

import json

import pytest

from cli.main import run

ALLOWED = {
    "system_id": "support-assistant",
    "environment": "production",
    "allowed": True,
    "state": "production",
    "reasons": ["production: production deploys are allowed"],
}
DENIED = {
    **ALLOWED,
    "allowed": False,
    "state": "pilot",
    "reasons": ["not approved for production (state: pilot); request promotion"],
}
GATE = "/systems/support-assistant/gate"


def test_gate_allowed_exits_zero(api, cli):
    """An allowed gate prints ALLOWED and exits 0, asking about production by default."""
    api.reply("GET", GATE, 200, ALLOWED)
    result = cli("gate", "support-assistant")
    assert result.exit_code == 0
    assert "ALLOWED" in result.stdout
    assert api.requests[0].url.params["environment"] == "production"


def test_gate_denied_exits_one_with_reasons(api, cli):
    """A denied gate prints DENIED with each reason and exits 1."""
    api.reply("GET", GATE, 200, DENIED)
    result = cli("gate", "support-assistant", "--environment", "production")
    assert result.exit_code == 1
    assert "DENIED" in result.stdout
    assert "request promotion" in result.stdout


def test_gate_unknown_system_exits_two(api, cli):
    """A gate on an unknown system exits 2 and prints the API's message on stderr."""
    api.reply("GET", "/systems/nope/gate", 404, {"error": {"message": "system nope not found"}})
    result = cli("gate", "nope")
    assert result.exit_code == 2
    assert "system nope not found" in result.stderr
    assert result.stdout == ""


def test_gate_json_is_parseable_and_keeps_exit_code(api, cli):
    """`gate --json` prints the raw JSON result and still exits 1 when denied."""
    api.reply("GET", GATE, 200, {**DENIED, "environment": "pilot"})
    result = cli("gate", "support-assistant", "--environment", "pilot", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["environment"] == "pilot"
    assert api.requests[0].url.params["environment"] == "pilot"


def test_gate_refuses_an_unknown_environment(api, cli):
    """An environment other than production or pilot is a usage error (exit 2), never sent."""
    result = cli("gate", "support-assistant", "--environment", "staging")
    assert result.exit_code == 2
    assert api.requests == []


def test_run_reports_unreachable_api_without_traceback(no_network, monkeypatch, capsys):
    """The entry point turns an unreachable API into exit 3 (retry) with a hint, no traceback."""
    monkeypatch.setenv("THRESHOLD_TOKEN", "t0ken")
    status = run(["--url", "http://127.0.0.1:9", "gate", "support-assistant"])
    err = capsys.readouterr().err
    assert status == 3
    assert "cannot connect to http://127.0.0.1:9" in err
    assert "threshold up" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("status", [403, 409])
def test_governance_refusals_exit_one(api, cli, status):
    """HTTP 403 and 409 are refusals by governance: exit 1 with 'refused' on stderr."""
    api.reply("POST", "/systems/s1/retire", status, {"error": {"message": "not allowed"}})
    result = cli("retire", "s1", "--reason", "done")
    assert result.exit_code == 1
    assert "refused: not allowed" in result.stderr
