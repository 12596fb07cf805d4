"""`threshold event` and `threshold deploy-check`: the CloudEvents they send and their exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

APPLIED = {
    "status": 200,
    "id": "deploy-7",
    "source": "https://ci.example.com/pipelines/42",
    "subject": "support-assistant",
    "duplicate": False,
    "message": "material change (new write access: crm.accounts): revalidation by ...",
    "state": "revalidation_pending",
    "material": True,
    "request_id": "support-assistant-2",
}
GATE = "/systems/support-assistant/gate"


def test_scope_change_sends_one_cloudevent(api, cli):
    """Options become one structured CloudEvent; a material change awaiting revalidation exits 1."""
    api.reply("POST", "/events", 200, APPLIED)
    result = cli(
        "event",
        "scope-change",
        "support-assistant",
        "--add-write",
        "crm.accounts",
        "--add-tool",
        "send_email",
        "--add-tool",
        "refund",
        "--autonomy",
        "autonomous",
        "--not-customer-facing",
        "--source",
        "https://ci.example.com/pipelines/42",
        "--id",
        "deploy-7",
    )
    assert result.exit_code == 1, result.output  # applied, but awaits revalidation
    [request] = api.requests
    assert request.headers["content-type"] == "application/cloudevents+json"
    sent = json.loads(request.content)
    assert sent["type"] == "dev.threshold.scope.changed"
    assert (sent["subject"], sent["source"], sent["id"]) == (
        "support-assistant",
        "https://ci.example.com/pipelines/42",
        "deploy-7",
    )
    assert sent["data"] == {
        "add_write": ["crm.accounts"],
        "add_tools": ["send_email", "refund"],
        "autonomy": "autonomous",
        "customer_facing": False,
    }
    assert "revalidation support-assistant-2" in result.stdout


def test_scope_change_exits_zero_once_in_force_and_one_while_awaiting(api, cli):
    """Exit 0 when the change is in force (immaterial), 1 while a revalidation must approve it."""
    args = ("event", "scope-change", "support-assistant", "--add-read", "kb.faq", "--json")
    immaterial = APPLIED | {"material": False, "request_id": None, "state": "production"}
    api.reply("POST", "/events", 200, immaterial)
    assert cli(*args).exit_code == 0
    api.reply("POST", "/events", 200, APPLIED | {"duplicate": True})
    waiting = cli(*args)
    assert waiting.exit_code == 1
    assert json.loads(waiting.stdout)["request_id"] == "support-assistant-2"


def test_scope_change_without_a_change_is_a_usage_error(api, cli):
    """Nothing to send exits 2 before calling the API."""
    result = cli("event", "scope-change", "support-assistant")
    assert result.exit_code == 2
    assert api.requests == []


def test_resent_event_says_already_applied(api, cli):
    """A duplicate delivery of an immaterial change is reported as such and still exits 0."""
    api.reply("POST", "/events", 200, APPLIED | {"duplicate": True, "material": False})
    result = cli(
        "event",
        "model-change",
        "support-assistant",
        "--provider",
        "anthropic",
        "--name",
        "claude-sonnet",
        "--version",
        "2026-11",
        "--id",
        "deploy-7",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(api.requests[0].content)["data"]["version"] == "2026-11"
    assert "already applied" in result.stdout


def test_malformed_event_exits_two_naming_the_field(api, cli):
    """A 422 from the API is an input error (exit 2) with the field named."""
    problems = [{"field": "data.add_write[0]", "message": "'' is not valid"}]
    api.reply("POST", "/events", 422, {"error": {"message": "invalid event", "problems": problems}})
    result = cli("event", "scope-change", "support-assistant", "--add-write", " ")
    assert result.exit_code == 2
    assert "data.add_write[0]" in result.stderr


def write_manifest(tmp_path: Path, text: str) -> Path:
    """A manifest file in the working directory."""
    path = tmp_path / "ai-system.yaml"
    path.write_text(text)
    return path


MANIFEST = "id: support-assistant\nname: Support\ndata_classification: internal\n"


def test_deploy_check_exits_zero_when_the_declared_scope_is_approved(api, cli, tmp_path):
    """The manifest is declared as an event, then the declared-scope gate decides: allowed → 0."""
    api.reply("POST", "/events", 200, APPLIED | {"material": False, "state": "production"})
    allowed = {"allowed": True, "system_id": "support-assistant", "reasons": ["ok"]}
    api.reply("GET", GATE, 200, allowed)
    path = write_manifest(tmp_path, MANIFEST)
    result = cli("deploy-check", "--manifest", str(path), "--environment", "production")
    assert result.exit_code == 0, result.output
    declared, gate = api.requests
    body = json.loads(declared.content)
    assert body["type"] == "dev.threshold.manifest.declared"
    assert body["data"]["manifest"]["id"] == "support-assistant"
    assert gate.url.params["scope"] == "declared"
    assert gate.url.params["environment"] == "production"


def test_deploy_check_exits_one_while_awaiting_approval(api, cli, tmp_path):
    """A declared scope awaiting revalidation denies the deploy with the reason (exit 1)."""
    api.reply("POST", "/events", 200, APPLIED)
    reason = "declared scope awaits revalidation support-assistant-2 by security: new tool: x"
    api.reply("GET", GATE, 200, {"allowed": False, "reasons": [reason]})
    result = cli("deploy-check", "--manifest", str(write_manifest(tmp_path, MANIFEST)))
    assert result.exit_code == 1
    assert reason in result.stdout


def test_deploy_check_bad_file_exits_two(api, cli, tmp_path):
    """A file that is not a manifest, or is missing, is an input error (exit 2), no API call."""
    result = cli("deploy-check", "--manifest", str(write_manifest(tmp_path, "- a\n- list\n")))
    assert result.exit_code == 2
    assert "does not hold a manifest" in result.stderr
    missing = cli("deploy-check", "--manifest", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2
    assert api.requests == []


def test_gate_asks_about_the_declared_scope(api, cli):
    """`gate --scope declared` asks the API about the repository's manifest; denied exits 1."""
    api.reply("GET", GATE, 200, {"allowed": False, "scope": "declared", "reasons": ["awaits"]})
    result = cli("gate", "support-assistant", "--scope", "declared")
    assert result.exit_code == 1
    assert api.requests[0].url.params["scope"] == "declared"
    assert "scope: declared" in result.stdout


def test_credential_change_sends_the_whole_credential(api, cli, tmp_path):
    """A rotated credential is read from its file and sent whole; removal sends only its id."""
    api.reply("POST", "/events", 200, APPLIED | {"material": False})
    path = tmp_path / "credential.yaml"
    path.write_text(
        "id: support-assistant-crm-reader\nkind: service_account\nenvironment: production\n"
        "vault_ref: vault://kv/prod/support-assistant/crm-reader-v2\n"
    )
    args = ("event", "credential-change", "support-assistant")
    rotated = cli(*args, "--action", "rotated", "--credential", str(path))
    assert rotated.exit_code == 0, rotated.output
    removed = cli(*args, "--action", "removed", "--credential-id", "support-assistant-crm-reader")
    assert removed.exit_code == 0, removed.output
    first, second = (json.loads(r.content) for r in api.requests)
    assert first["type"] == "dev.threshold.credential.changed"
    assert first["data"]["action"] == "rotated"
    assert first["data"]["credential"]["vault_ref"].endswith("crm-reader-v2")
    assert second["data"] == {"action": "removed", "credential_id": "support-assistant-crm-reader"}


TOOLS_LIST = {
    "tools": [
        {
            "name": "export",
            "description": "Export accounts.",
            "inputSchema": {"type": "object"},
            "annotations": {"readOnlyHint": False, "destructiveHint": True},
        }
    ]
}


def test_mcp_tools_sends_the_tools_list_snapshot(api, cli, tmp_path):
    """A tools/list result file becomes one tools_listed CloudEvent; awaiting revalidation exits 1."""
    api.reply("POST", "/events", 200, APPLIED)
    listing = tmp_path / "tools.json"
    listing.write_text(json.dumps(TOOLS_LIST))
    result = cli(
        "event",
        "mcp-tools",
        "support-assistant",
        "--server",
        "crm",
        "--url",
        "https://mcp.example.com/crm",
        "--file",
        str(listing),
        "--id",
        "deploy-8",
    )
    assert result.exit_code == 1, result.output
    [request] = api.requests
    assert request.headers["content-type"] == "application/cloudevents+json"
    sent = json.loads(request.content)
    assert (sent["type"], sent["subject"], sent["id"]) == (
        "dev.threshold.mcp.tools_listed",
        "support-assistant",
        "deploy-8",
    )
    assert sent["data"] == {"server": "crm", "url": "https://mcp.example.com/crm", **TOOLS_LIST}
    assert "revalidation support-assistant-2" in result.stdout


def test_mcp_tools_reads_stdin_and_exits_zero_once_in_force(api):
    """`--file -` reads a whole JSON-RPC reply from stdin; an immaterial snapshot exits 0."""
    immaterial = APPLIED | {"material": False, "request_id": None, "state": "production"}
    api.reply("POST", "/events", 200, immaterial)
    reply = json.dumps({"jsonrpc": "2.0", "id": 1, "result": TOOLS_LIST | {"nextCursor": "p2"}})
    args = ["event", "mcp-tools", "support-assistant", "--server", "crm", "-f", "-", "--json"]
    result = CliRunner().invoke(app, args, input=reply)
    assert result.exit_code == 0, result.output
    sent = json.loads(api.requests[0].content)
    assert sent["data"] == {"server": "crm", **TOOLS_LIST, "nextCursor": "p2"}


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "is not valid JSON"), ('{"tools": {}}', "does not hold a tools/list result")],
)
def test_mcp_tools_bad_file_is_a_usage_error(api, cli, tmp_path, content, message):
    """An unreadable or wrongly shaped tools/list file exits 2 before calling the API."""
    listing = tmp_path / "tools.json"
    listing.write_text(content)
    result = cli("event", "mcp-tools", "support-assistant", "--server", "crm", "-f", str(listing))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert api.requests == []


def test_mcp_tools_missing_file_is_a_usage_error(api, cli):
    """A --file that does not exist exits 2 naming it, sending nothing."""
    result = cli("event", "mcp-tools", "support-assistant", "--server", "crm", "-f", "nope.json")
    assert result.exit_code == 2
    assert "cannot read nope.json" in result.output
    assert api.requests == []
