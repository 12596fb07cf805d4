"""`threshold` global behaviour: version, completion, validated choices, output formats."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cli.about import package_version

LONG_ID = "customer-support-assistant-with-a-long-identifier-emea"
NAME = "Customer support assistant for the EMEA region"
SYSTEMS: dict[str, Any] = {
    "items": [
        {
            "id": LONG_ID,
            "name": NAME,
            "state": "revalidation_pending",
            "risk_tier": "high",
            "business_owner": "bea.business-owner@example.com",
            "technical_owner": "ted.technical-owner@example.com",
            "pending_request_id": f"{LONG_ID}-12",
        }
    ],
    "total": 1,
    "limit": 50,
    "offset": 0,
}


def test_version_prints_the_package_version(cli):
    """`threshold --version` prints the version and exits 0 without calling the API."""
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"threshold {package_version()}"
    assert package_version() not in ("", "unknown")


def test_shell_completion_can_be_shown(cli):
    """`--show-completion bash` prints a bash completion script for `threshold`."""
    result = cli("--show-completion", "bash")
    assert result.exit_code == 0, result.output
    assert "complete" in result.stdout and "_THRESHOLD_COMPLETE" in result.stdout.upper()
    assert "--install-completion" in cli("--help").stdout


@pytest.mark.parametrize(
    ("args", "choice"),
    [
        (("systems", "list", "--state", "live"), "revalidation_pending"),
        (("systems", "list", "--tier", "critical"), "medium"),
        (("requests", "list", "--status", "open"), "withdrawn"),
        (("tickets", "--status", "closed"), "rejected"),
    ],
)
def test_a_bad_choice_exits_2_listing_the_choices(api, cli, args, choice):
    """An unknown state, tier or status is refused before any call, naming the valid values."""
    result = cli(*args)
    assert result.exit_code == 2
    assert "Invalid value" in result.output and choice in result.output
    assert api.requests == []


def test_choices_are_case_insensitive_and_sent_as_values(api, cli):
    """`--state PILOT --tier High` reaches the API as pilot and high."""
    api.reply("GET", "/systems", 200, SYSTEMS)
    result = cli("systems", "list", "--state", "PILOT", "--tier", "High", "--json")
    assert result.exit_code == 0, result.output
    params = api.requests[0].url.params
    assert (params["state"], params["tier"]) == ("pilot", "high")


def test_piped_tables_never_break_a_value(api, cli):
    """Piped (not a terminal), every row stays on one line with each value whole."""
    api.reply("GET", "/systems", 200, SYSTEMS)
    result = cli("systems", "list")
    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if LONG_ID in line]
    for value in (
        LONG_ID,
        f"{LONG_ID}-12",
        "revalidation_pending",
        "ted.technical-owner@example.com",
    ):
        assert value in row


def test_output_tsv_is_tab_separated_with_a_header(api, cli):
    """`--output tsv` prints a header and one tab-separated line per row, the footer on stderr."""
    api.reply("GET", "/systems", 200, SYSTEMS)
    result = cli("systems", "list", "--output", "tsv")
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()
    assert header.split("\t")[:4] == ["id", "name", "state", "tier"]
    assert row.split("\t")[:3] == [LONG_ID, NAME, "revalidation_pending"]
    assert "showing 1-1 of 1" in result.stderr


def test_output_wide_and_json(api, cli):
    """`-o wide` keeps every cell on one line; `-o json` equals `--json`."""
    api.reply("GET", "/requests", 200, {"items": [], "total": 0, "limit": 50, "offset": 0})
    wide = cli("requests", "list", "-o", "wide")
    assert wide.exit_code == 0 and "id" in wide.stdout and "nothing found" in wide.stdout
    as_json = cli("requests", "list", "-o", "json")
    assert json.loads(as_json.stdout) == json.loads(cli("requests", "list", "--json").stdout)
    bad = cli("requests", "list", "-o", "xml")
    assert bad.exit_code == 2 and "tsv" in bad.output
