"""What each command sends to the API and what it prints."""

from __future__ import annotations

import json
import uuid

REQUEST = {
    "id": "req-1",
    "system_id": "s1",
    "kind": "promotion",
    "summary": "promote s1 to production",
    "requester": "dev@example.com",
    "required_roles": ["business_owner", "security"],
    "eligible": {"business_owner": ["bo@example.com"], "security": ["sec@example.com"]},
    "opened_at": "2025-01-01T10:00:00Z",
    "escalate_at": "2025-01-03T10:00:00Z",
    "expires_at": "2025-01-08T10:00:00Z",
    "status": "pending",
    "decisions": [
        {
            "principal": "bo@example.com",
            "role": "business_owner",
            "approve": True,
            "comment": "fine",
            "at": "2025-01-01T11:00:00Z",
            "via": "api",
        }
    ],
}
REQUIREMENTS = {
    "applies": False,
    "triggers": [{"code": "customer_facing", "reason": "answers customers"}],
    "exemption": "limited pilot on synthetic data only",
    "risk_tier": "medium",
    "required_roles": ["business_owner", "security"],
    "recertification_days": 180,
    "gaps": [],
}
VIEW = {
    "system_id": "s1",
    "state": "promotion_pending",
    "manifest": {"id": "s1", "name": "Support bot", "environment": "pilot"},
    "requirements": REQUIREMENTS,
    "production_requirements": {
        **REQUIREMENTS,
        "applies": True,
        "exemption": None,
        "gaps": [{"code": "no_expiry", "field": "credentials.0", "message": "set expires_at"}],
    },
    "pending_request": REQUEST,
    "registered_at": "2025-01-01T09:00:00Z",
    "updated_at": "2025-01-01T10:00:00Z",
    "version": 3,
    "last_reason": "",
}
RESULT = {"command_id": "c1", "message": "registered", "system": VIEW}


def test_register_sends_yaml_with_content_type_and_idempotency_key(api, cli, tmp_path):
    """`systems register x.yaml` posts the file as application/yaml with a uuid4 key."""
    api.reply("POST", "/systems", 201, RESULT)
    manifest = tmp_path / "s1.yaml"
    manifest.write_text("id: s1\nname: Support bot\n")
    result = cli("systems", "register", str(manifest))
    assert result.exit_code == 0, result.output
    sent = api.requests[0]
    assert sent.headers["content-type"] == "application/yaml"
    assert sent.content == manifest.read_bytes()
    assert uuid.UUID(sent.headers["idempotency-key"]).version == 4
    assert "registered" in result.stdout


def test_register_json_file_and_own_idempotency_key(api, cli, tmp_path):
    """A .json manifest goes as application/json, and --id becomes the Idempotency-Key."""
    api.reply("POST", "/systems", 201, RESULT)
    manifest = tmp_path / "s1.json"
    manifest.write_text(json.dumps({"id": "s1"}))
    result = cli("systems", "register", str(manifest), "--id", "deploy-42")
    assert result.exit_code == 0, result.output
    assert api.requests[0].headers["content-type"] == "application/json"
    assert api.requests[0].headers["idempotency-key"] == "deploy-42"


def test_amend_puts_to_the_id_in_the_file(api, cli, tmp_path):
    """`systems amend` PUTs the manifest to the system named by the file's id."""
    api.reply("PUT", "/systems/s1/manifest", 200, RESULT)
    manifest = tmp_path / "s1.yml"
    manifest.write_text("id: s1\n")
    assert cli("systems", "amend", str(manifest)).exit_code == 0
    assert api.requests[0].headers["content-type"] == "application/yaml"


def test_systems_list_json_is_the_raw_page(api, cli):
    """`systems list --json` prints the API's page as parseable JSON and passes filters."""
    page = {"items": [{"id": "s1", "name": "S1"}], "total": 1, "limit": 5, "offset": 0}
    api.reply("GET", "/systems", 200, page)
    result = cli("systems", "list", "--state", "pilot", "--search", "bot", "--limit", "5", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == page
    params = api.requests[0].url.params
    assert (params["state"], params["q"], params["limit"]) == ("pilot", "bot", "5")
    assert "tier" not in params


def test_systems_show_marks_production_gaps_as_blocking(api, cli):
    """`systems show` prints state, exemption, gaps blocking promotion and roles still needed."""
    api.reply("GET", "/systems/s1", 200, VIEW)
    result = cli("systems", "show", "s1")
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    for text in ("promotion_pending", "limited pilot", "blocking promotion", "req-1"):
        assert text in out
    assert "awaiting security" in out


def test_approve_and_reject_send_decisions(api, cli):
    """`approve` and `reject` post approve true/false with the comment and optional role."""
    decided = {"command_id": "c", "message": "recorded", "request": REQUEST}
    api.reply("POST", "/requests/req-1/decisions", 200, decided)
    assert cli("approve", "req-1", "--comment", "ok", "--role", "security").exit_code == 0
    assert cli("reject", "req-1", "--reason", "too risky").exit_code == 0
    bodies = [json.loads(r.content) for r in api.requests]
    assert bodies[0] == {"approve": True, "comment": "ok", "role": "security"}
    assert bodies[1] == {"approve": False, "comment": "too risky"}
    assert all("idempotency-key" in r.headers for r in api.requests)


def test_reject_needs_a_reason(api, cli):
    """`reject` without --reason is a usage error and sends nothing."""
    assert cli("reject", "req-1").exit_code == 2
    assert api.requests == []


def test_promote_prints_request_and_roles_awaited(api, cli):
    """`promote` prints the new request id and each role it awaits with who may fill it."""
    api.reply("POST", "/systems/s1/promotion", 202, {**RESULT, "message": "requested"})
    result = cli("promote", "s1")
    assert result.exit_code == 0
    assert "request req-1" in result.stdout
    assert "awaiting security: sec@example.com" in result.stdout


def test_requests_list_mine_sends_the_filter(api, cli):
    """`requests list --mine --json` asks for the caller's requests and prints JSON."""
    page = {"items": [REQUEST], "total": 1, "limit": 50, "offset": 0}
    api.reply("GET", "/requests", 200, page)
    result = cli("requests", "list", "--mine", "--json")
    assert json.loads(result.stdout)["items"][0]["id"] == "req-1"
    assert api.requests[0].url.params["mine"] == "true"


def test_audit_verify_broken_exits_one_with_first_entry(api, cli):
    """`audit verify` exits 1 when a chain is broken and names the first broken entry."""
    broken = {"chain_id": "s1", "seq": 7, "entry_id": 41, "problem": "hash mismatch"}
    report = {"ok": False, "entries_checked": 9, "chains_checked": 2, "first_broken": broken}
    api.reply("GET", "/audit/verify", 200, report)
    result = cli("audit", "verify", "--system", "s1")
    assert result.exit_code == 1
    assert "system s1 seq 7" in result.stdout and "hash mismatch" in result.stdout
    assert api.requests[0].url.params["system"] == "s1"


def test_audit_verify_ok_exits_zero(api, cli):
    """`audit verify --json` exits 0 for an intact ledger and prints the report."""
    report = {"ok": True, "entries_checked": 9, "chains_checked": 2, "first_broken": None}
    api.reply("GET", "/audit/verify", 200, report)
    result = cli("audit", "verify", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["ok"] is True


def test_tokens_issue_shows_the_token_once(api, cli):
    """`tokens issue` prints the token value with a note that it is shown only once."""
    issued = {
        "id": "tok-1",
        "principal": "ci@example.com",
        "role": "emitter",
        "label": "ci",
        "created_at": "2025-01-01T00:00:00Z",
        "token": "thr_secret_value",
    }
    api.reply("POST", "/tokens", 201, issued)
    result = cli("tokens", "issue", "--principal", "ci@example.com", "--role", "emitter")
    assert result.exit_code == 0
    assert "thr_secret_value" in result.stdout
    assert "only time" in result.stdout
    assert json.loads(api.requests[0].content)["role"] == "emitter"


def test_tokens_revoke_deletes(api, cli):
    """`tokens revoke` sends DELETE for the token id and confirms."""
    api.reply("DELETE", "/tokens/tok-1", 204)
    result = cli("tokens", "revoke", "tok-1")
    assert result.exit_code == 0
    assert "revoked" in result.stdout


def test_audit_export_writes_the_pack_and_sends_the_filters(api, cli, tmp_path):
    """`audit export --system S --format json --since D -o FILE` writes what the API sent."""
    api.reply("GET", "/audit/export", 200, {"systems": [{"system_id": "s1"}]})
    out = tmp_path / "pack.json"
    result = cli("audit", "export", "--system", "s1", "--since", "2026-01-01", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert '"system_id": "s1"' in out.read_text().replace('":"', '": "')
    sent = api.requests[-1].url.params
    assert sent["system"] == "s1" and sent["format"] == "json"
    assert sent["since"].startswith("2026-01-01")


def test_audit_export_needs_system_or_all(api, cli):
    """Without --system or --all (or with both) the command exits 2 naming the options."""
    result = cli("audit", "export")
    assert result.exit_code == 2
    assert "--system ID" in result.output
    both = cli("audit", "export", "--system", "s1", "--all")
    assert both.exit_code == 2
    assert api.requests == []
