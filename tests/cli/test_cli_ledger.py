"""`threshold audit erase|checkpoint|verify --checkpoint` against a live ledger API (uvicorn on
127.0.0.1, SQLite and PostgreSQL): what an operator sees and the exit codes scripts branch on."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.ledger_app import ADMIN, VIEWER, LedgerApi, append, ledger_api, rewrite_chain


@pytest.fixture
def live(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LedgerApi]:
    """A live ledger API with two chains; the CLI points at it with the admin's token."""
    with ledger_api(database_url, tmp_path / "data") as running:
        append(running.engine, "alpha-one", range(1, 6))
        append(running.engine, "beta-two", range(1, 4))
        monkeypatch.setenv("THRESHOLD_URL", running.url)
        monkeypatch.setenv("THRESHOLD_TOKEN", running.tokens[ADMIN])
        yield running


def test_erase_then_verify_reports_the_erasure(live: LedgerApi, cli: Callable[..., Any]) -> None:
    """`audit erase 2 --system S --reason R` exits 0; `audit verify` stays 0 and lists it."""
    erased = cli("audit", "erase", "2", "--system", "alpha-one", "--reason", "PII in a comment")
    assert erased.exit_code == 0, erased.output
    assert "erasure recorded as entry 6" in erased.stdout
    verified = cli("audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "intact" in verified.stdout
    assert "entries erased: 1" in verified.stdout
    assert "system alpha-one seq 2" in verified.stdout and "erasure entry seq 6" in verified.stdout
    listed = json.loads(cli("audit", "events", "--system", "alpha-one", "--json").stdout)
    assert [e["seq"] for e in listed if e["erased_at"]] == [2]
    assert listed[5]["action"] == "ledger_entry_erased"
    tsv = cli("audit", "events", "--system", "alpha-one", "-o", "tsv").stdout
    assert "(erased " in tsv and "by ada.admin@example.com)" in tsv


def test_erase_as_a_viewer_exits_one(
    live: LedgerApi, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A viewer's erase is refused: exit 1 and the role it needs, nothing erased."""
    monkeypatch.setenv("THRESHOLD_TOKEN", live.tokens[VIEWER])
    refused = cli("audit", "erase", "2", "--system", "alpha-one", "--reason", "PII")
    assert refused.exit_code == 1
    assert "admin" in refused.output
    report = json.loads(cli("audit", "verify", "--json").stdout)
    assert report["entries_erased"] == 0


def test_checkpoint_catches_a_full_rewrite(
    live: LedgerApi, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """A rewrite after `audit checkpoint -o F` passes `audit verify` but `--checkpoint F` exits 1."""
    saved = tmp_path / "checkpoint.json"
    made = cli("audit", "checkpoint", "-o", str(saved))
    assert made.exit_code == 0, made.output
    assert "2 chain heads (8 entries)" in made.stderr
    assert cli("audit", "verify", "--checkpoint", str(saved)).exit_code == 0
    rewrite_chain(live.engine, "beta-two", seq=1, actor="mallory@example.com")
    assert cli("audit", "verify").exit_code == 0
    caught = cli("audit", "verify", "--checkpoint", str(saved))
    assert caught.exit_code == 1
    assert "REWRITTEN" in caught.stdout
    assert "system beta-two seq 3" in caught.stdout
    other = cli("audit", "verify", "--checkpoint", str(saved), "--system", "alpha-one", "--json")
    assert other.exit_code == 0, other.output  # only alpha-one's signed head is checked
    assert json.loads(other.stdout)["checkpoint"]["heads_checked"] == 1


def test_tampered_checkpoint_file_is_refused(
    live: LedgerApi, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """A checkpoint file edited after signing exits 2 naming the signature; junk names the file."""
    saved = tmp_path / "checkpoint.json"
    assert cli("audit", "checkpoint", "-o", str(saved)).exit_code == 0
    signed = json.loads(saved.read_text())
    signed["heads"][0]["seq"] = 1
    saved.write_text(json.dumps(signed))
    refused = cli("audit", "verify", "--checkpoint", str(saved))
    assert refused.exit_code == 2
    assert "signature does not match" in refused.output
    saved.write_text("not json")
    junk = cli("audit", "verify", "--checkpoint", str(saved))
    assert junk.exit_code == 2 and "--checkpoint" in junk.output


def test_verify_names_every_broken_chain(live: LedgerApi, cli: Callable[..., Any]) -> None:
    """With two chains rewritten badly, `audit verify` exits 1 and names both."""
    rewrite_chain(live.engine, "alpha-one", seq=1, actor="x@example.com")
    rewrite_chain(live.engine, "beta-two", seq=1, actor="x@example.com")
    with live.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE chain_heads SET hash = 'f' WHERE ledger = 'audit'")
    broken = cli("audit", "verify")
    assert broken.exit_code == 1
    assert "system alpha-one seq 5" in broken.stdout and "system beta-two seq 3" in broken.stdout


def test_an_evidence_pack_is_a_checkpoint_too(
    live: LedgerApi, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """`audit verify --checkpoint PACK` takes an exported pack's signed heads and checks them."""
    pack = tmp_path / "pack.json"
    assert cli("audit", "export", "--all", "-o", str(pack)).exit_code == 0
    assert json.loads(pack.read_text())["checkpoint"]["chains"] == 2
    assert cli("audit", "verify", "--checkpoint", str(pack)).exit_code == 0
    rewrite_chain(live.engine, "alpha-one", seq=4, actor="mallory@example.com")
    caught = cli("audit", "verify", "--checkpoint", str(pack))
    assert caught.exit_code == 1 and "system alpha-one seq 5" in caught.stdout
