"""`threshold credentials`, `actions ingest`, `trace`, `contain`: requests and exit codes."""

from __future__ import annotations

import json

SYSTEM = "support-assistant"
COMMAND = {
    "command_id": "c1",
    "message": "support-assistant contained",
    "system": {"system_id": SYSTEM, "state": "contained"},
}


def test_a_secret_given_as_vault_ref_is_refused_before_sending(api, cli):
    """The CLI exits 2 naming vault_ref and sends nothing; the secret is not printed."""
    secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2"
    result = cli(
        "credentials",
        "add",
        SYSTEM,
        "--credential",
        "k",
        "--kind",
        "api_key",
        "--environment",
        "production",
        "--vault-ref",
        secret,
    )
    assert result.exit_code == 2
    assert "vault_ref" in result.stderr and secret not in result.stderr + result.stdout
    assert api.requests == []


def test_add_posts_the_credential_as_a_reference(api, cli):
    """add sends the credential (with created_at) to the system's credentials."""
    api.reply("POST", f"/systems/{SYSTEM}/credentials", 202, COMMAND)
    result = cli(
        "credentials",
        "add",
        SYSTEM,
        "--credential",
        "k",
        "--kind",
        "api_key",
        "--environment",
        "production",
        "--owner",
        "tom@example.com",
        "--scope",
        "kb:read",
        "--expires",
        "2027-01-01",
        "--vault-ref",
        "vault://kv/prod/k",
    )
    assert result.exit_code == 0, result.stderr
    body = json.loads(api.requests[0].content)
    assert body["vault_ref"] == "vault://kv/prod/k" and body["scopes"] == ["kb:read"]
    assert "created_at" in body


def test_ingest_sends_json_lines_and_exits_one_on_findings(api, cli, tmp_path):
    """Records go as application/x-ndjson; a finding makes the exit status 1."""
    path = tmp_path / "actions.jsonl"
    path.write_text('{"system": "a"}\n\n{"system": "b"}\n')
    finding = {"system_id": "a", "code": "tool_out_of_scope", "message": "tool x is not approved"}
    api.reply(
        "POST",
        "/actions",
        200,
        {"accepted": 2, "duplicates": 0, "findings": 1, "first_findings": [finding]},
    )
    result = cli("actions", "ingest", str(path))
    assert result.exit_code == 1
    assert "first tool_out_of_scope on a" in result.stdout
    request = api.requests[0]
    assert request.headers["content-type"] == "application/x-ndjson"
    assert request.content.count(b"\n") == 1


def test_trace_prints_the_blast_radius(api, cli):
    """trace --credential shows counts per system, kind and target."""
    api.reply(
        "GET",
        "/trace",
        200,
        {
            "count": 2,
            "first": "2026-11-26T10:00:00",
            "last": "2026-11-26T11:00:00",
            "systems": {SYSTEM: 2},
            "credentials": {"k": 2},
            "kinds": {"tool_call": 2},
            "tools": {"search_kb": 2},
            "targets": {"kb.articles": 2},
            "findings": {},
            "bound_to": [
                {
                    "system_id": SYSTEM,
                    "state": "production",
                    "environment": "production",
                    "scopes": ["kb:read"],
                    "revocation": None,
                }
            ],
            "actions": [],
        },
    )
    result = cli("trace", "--credential", "k")
    assert result.exit_code == 0, result.stderr
    assert "2 action(s)" in result.stdout and "kb.articles (2)" in result.stdout
    assert api.requests[0].url.params["credential"] == "k"


def test_trace_without_credential_or_system_is_a_usage_error(api, cli):
    """Naming neither exits 2."""
    assert cli("trace").exit_code == 2


def test_contain_posts_the_reason(api, cli):
    """contain sends the reason and prints the new state."""
    api.reply("POST", f"/systems/{SYSTEM}/contain", 200, COMMAND)
    result = cli("contain", SYSTEM, "--reason", "leaked key")
    assert result.exit_code == 0, result.stderr
    assert json.loads(api.requests[0].content) == {"reason": "leaked key"}
    assert "contained" in result.stdout


def test_dormant_lists_idle_credentials_and_systems_with_days_idle(api, cli):
    """`credentials dormant --days 45` asks for that bound and shows days idle, findings and
    the review ticket the sweep opened."""
    idle = {
        "system_id": SYSTEM,
        "credential_id": "crm-reader",
        "environment": "production",
        "system_state": "production",
        "last_action_at": None,
        "idle_since": "2026-10-01T00:00:00+00:00",
        "idle_days": 61,
        "finding": True,
        "review": "THR-7",
    }
    system = {**idle, "credential_id": None, "finding": False, "idle_days": 50, "review": None}
    api.reply("GET", "/dormancy", 200, {"days": 45, "credentials": [idle], "systems": [system]})
    result = cli("credentials", "dormant", "--days", "45", "--output", "tsv")
    assert result.exit_code == 0, result.stderr
    assert api.requests[0].url.params["days"] == "45"
    lines = result.stdout.splitlines()
    assert lines[1].split("\t") == [
        SYSTEM,
        "crm-reader",
        "production",
        "production",
        "never",
        "61",
        "finding",
        "THR-7",
    ]
    assert lines[2].split("\t")[1] == "(system)"
    assert lines[2].split("\t")[-1] == "-"


def test_trace_shows_the_model_of_each_action(api, cli):
    """trace counts the models and lists each action's model ('-' when none was reported)."""
    action = {
        "at": "2026-11-26T10:00:00",
        "chain_id": SYSTEM,
        "kind": "prompt",
        "trace_id": "t1",
    }
    api.reply(
        "GET",
        "/trace",
        200,
        {
            "count": 2,
            "first": "2026-11-26T10:00:00",
            "last": "2026-11-26T10:00:01",
            "systems": {SYSTEM: 2},
            "models": {"gpt-5": 1},
            "findings": {"model_not_approved": 1},
            "actions": [{**action, "model": "gpt-5"}, {**action, "model": None}],
        },
    )
    result = cli("trace", "--system", SYSTEM, "--limit", "2")
    assert result.exit_code == 0, result.stderr
    assert "models: gpt-5 (1)" in result.stdout
    assert "model_not_approved (1)" in result.stdout
    assert "model" in result.stdout and result.stdout.count("gpt-5") == 2


def test_authorize_sends_the_model_and_exits_one_on_a_swap(api, cli):
    """`authorize --model` sends the model; a model_not_approved deny exits 1 with its reason."""
    reason = "model gpt-5 is not the approved anthropic/claude-sonnet 2026-09: a model swap needs"
    api.reply(
        "POST",
        "/authorize",
        200,
        {
            "decision": "deny",
            "reasons": [reason],
            "codes": ["model_not_approved"],
            "system": SYSTEM,
            "version": 3,
            "state": "production",
        },
    )
    result = cli("authorize", SYSTEM, "--tool", "search_kb", "--model", "gpt-5")
    assert result.exit_code == 1
    assert json.loads(api.requests[0].content)["model"] == "gpt-5"
    assert "model gpt-5 is not the approved" in result.stdout
