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


def test_bom_prints_or_writes_the_document(api, cli, tmp_path):
    """`systems bom s1` prints the API's ML-BOM; `-o FILE` writes it there."""
    document = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}
    api.reply("GET", "/systems/s1/bom", 200, document)
    assert json.loads(cli("systems", "bom", "s1").stdout) == document
    target = tmp_path / "s1.cdx.json"
    assert cli("systems", "bom", "s1", "-o", str(target)).exit_code == 0
    assert json.loads(target.read_text()) == document


def test_import_bom_prints_the_draft_and_what_is_missing(api, cli, tmp_path):
    """`systems import-bom FILE` sends the BOM, prints the YAML draft and each missing field."""
    draft = {
        "source": "spdx",
        "manifest": {"id": "triage"},
        "manifest_yaml": "id: triage\n",
        "missing": [{"field": "business_owner", "message": "add an email"}],
    }
    api.reply("POST", "/manifests/from-bom", 200, draft)
    source = tmp_path / "bom.json"
    source.write_text(json.dumps({"@graph": []}))
    result = cli("systems", "import-bom", str(source))
    assert result.exit_code == 0, result.output
    assert json.loads(api.requests[0].content) == {"@graph": []}
    assert "id: triage" in result.stdout
    assert "missing business_owner: add an email" in result.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    refused = cli("systems", "import-bom", str(bad))
    assert refused.exit_code != 0
    assert "not readable JSON" in refused.output
