"""The ledger over HTTP: erasure that keeps the chain provable, signed checkpoints that catch a
full rewrite, and verification that names every broken chain (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from core.signing import KEY_FILE
from db.projection import commit_batch
from domain.contracts import RecordBatch
from tests.api.ledger_app import ADMIN, VIEWER, LedgerApi, append, ledger_api, rewrite_chain
from tests.db.conftest import system_view

REASON = "customer PII pasted into a comment (ticket SEC-42)"


@pytest.fixture
def ledger(database_url: str, tmp_path: Path) -> Iterator[LedgerApi]:
    """The ledger API on the parametrised database, with two systems' chains."""
    with ledger_api(database_url, tmp_path) as running:
        append(running.engine, "alpha-one", range(1, 6))
        append(running.engine, "beta-two", range(1, 4))
        yield running


def _erase(ledger: LedgerApi, system: str, seq: int, who: str = ADMIN, **body: Any) -> Any:
    path = f"/audit/systems/{system}/entries/{seq}/erase"
    return ledger.call("POST", path, who, json={"reason": REASON} | body)


def _entry(ledger: LedgerApi, system: str, seq: int) -> dict[str, Any]:
    rows = ledger.call("GET", f"/audit/events?system={system}", VIEWER).json()
    return next(row for row in rows if row["seq"] == seq)


def test_erased_entry_keeps_the_chain_intact_and_is_reported(ledger: LedgerApi) -> None:
    """Erasing one entry's content removes it, and verify stays intact and lists the erasure."""
    before = _entry(ledger, "alpha-one", 3)
    assert "héllo" in before["detail"]
    erased = _erase(ledger, "alpha-one", 3)
    assert erased.status_code == 200, erased.text
    assert erased.json()["erasure_seq"] == 6
    after = _entry(ledger, "alpha-one", 3)
    assert after["detail"] == "{}" and "héllo" not in str(after)
    assert (after["hash"], after["content_digest"]) == (before["hash"], before["content_digest"])
    report = ledger.call("GET", "/audit/verify", VIEWER).json()
    assert report["ok"] is True, report
    assert report["entries_erased"] == 1
    listed = report["erased"][0]
    assert (listed["chain_id"], listed["seq"], listed["erasure_seq"]) == ("alpha-one", 3, 6)
    assert listed["erased_by"] == ADMIN


def test_the_erasure_is_itself_an_audit_entry(ledger: LedgerApi) -> None:
    """The erasure is appended to the chain: who, when, why, which entry and the kept digest."""
    digest = _entry(ledger, "alpha-one", 2)["content_digest"]
    assert _erase(ledger, "alpha-one", 2).status_code == 200
    recorded = _entry(ledger, "alpha-one", 6)
    assert (recorded["action"], recorded["actor"]) == ("ledger_entry_erased", ADMIN)
    assert recorded["at"]
    assert '"erased_seq":2' in recorded["detail"]
    assert digest in recorded["detail"] and REASON in recorded["detail"]


def test_erase_is_admin_only_and_refusals_say_why(ledger: LedgerApi) -> None:
    """A viewer is refused (403); unknown entries are 404; erasing twice differently is 409."""
    refused = _erase(ledger, "alpha-one", 1, who=VIEWER)
    assert refused.status_code == 403
    assert "admin" in refused.json()["error"]["message"]
    assert "héllo" in _entry(ledger, "alpha-one", 1)["detail"]
    assert _erase(ledger, "alpha-one", 99).status_code == 404
    assert _erase(ledger, "alpha-one", 1).status_code == 200
    again = _erase(ledger, "alpha-one", 1)
    assert again.status_code == 200 and again.json()["erasure_seq"] == 6  # a retry: same answer
    other = _erase(ledger, "alpha-one", 1, reason="another reason")
    assert other.status_code == 409 and "already erased" in other.json()["error"]["message"]
    erasure = _erase(ledger, "alpha-one", 6)
    assert erasure.status_code == 409 and "records an erasure" in erasure.json()["error"]["message"]
    short = _erase(ledger, "alpha-one", 2, reason="")
    assert short.status_code == 422
    leaked = "AKIA" + "IOSFODNN7EXAMPLE"
    secret = _erase(ledger, "alpha-one", 2, reason=f"remove key {leaked}")
    assert secret.status_code == 422 and leaked not in secret.text  # the reason stays for good
    assert ledger.call("GET", "/audit/verify", VIEWER).json()["entries_erased"] == 1


def test_content_removed_outside_threshold_is_caught(ledger: LedgerApi) -> None:
    """Blanking an entry's content with raw SQL (no erasure entry) fails verification there."""
    with ledger.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE audit_entries SET detail = '{}', erased_at = 'x'"
                " WHERE chain_id = 'beta-two' AND seq = 2"
            )
        )
    report = ledger.call("GET", "/audit/verify", VIEWER).json()
    assert report["ok"] is False
    assert [(b["chain_id"], b["seq"]) for b in report["broken"]] == [("beta-two", 2)]
    assert "without an erasure entry" in report["broken"][0]["problem"]


def test_every_broken_chain_is_named(ledger: LedgerApi) -> None:
    """Two chains tampered in different ways are both reported, each at its first bad entry."""
    with ledger.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_entries SET detail = '{}' WHERE chain_id = 'alpha-one' AND seq = 2")
        )
        conn.execute(text("DELETE FROM audit_entries WHERE chain_id = 'beta-two' AND seq = 3"))
    report = ledger.call("GET", "/audit/verify", VIEWER).json()
    assert report["ok"] is False
    named = [(b["chain_id"], b["seq"], b["problem"]) for b in report["broken"]]
    assert named == [
        ("alpha-one", 2, "content does not match its digest: entry was edited"),
        ("beta-two", 2, "chain head says seq 3 but last entry is 2: tail deleted"),
    ]
    assert report["first_broken"]["chain_id"] == "alpha-one"


def _checkpoint(ledger: LedgerApi) -> dict[str, Any]:
    made = ledger.call("POST", "/audit/checkpoints", ADMIN)
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def _verify(ledger: LedgerApi, checkpoint: dict[str, Any]) -> Any:
    return ledger.call("POST", "/audit/verify", VIEWER, json={"checkpoint": checkpoint})


def test_full_rewrite_passes_plain_verify_but_fails_the_checkpoint(ledger: LedgerApi) -> None:
    """Editing an entry and re-hashing the rest of its chain fools plain verify, not a checkpoint."""
    signed = _checkpoint(ledger)
    assert (signed["chains"], signed["entries"]) == (2, 8)
    assert signed["key_id"].startswith("ed25519:")
    assert _verify(ledger, signed).json()["ok"] is True
    rewrite_chain(ledger.engine, "alpha-one", seq=2, actor="mallory@example.com")
    plain = ledger.call("GET", "/audit/verify", VIEWER).json()
    assert plain["ok"] is True  # a full rewrite is consistent: only a checkpoint can tell
    checked = _verify(ledger, signed)
    assert checked.status_code == 200
    body = checked.json()
    assert body["ok"] is False
    problems = body["checkpoint"]["problems"]
    assert [(p["ledger"], p["chain_id"], p["seq"]) for p in problems] == [("audit", "alpha-one", 5)]
    assert "rewritten after the checkpoint" in problems[0]["problem"]


def test_erasure_after_a_checkpoint_still_matches_it(ledger: LedgerApi) -> None:
    """Erasing content changes no hash, so an earlier checkpoint still holds."""
    signed = _checkpoint(ledger)
    assert _erase(ledger, "beta-two", 1).status_code == 200
    body = _verify(ledger, signed).json()
    assert body["ok"] is True and body["checkpoint"]["heads_checked"] == 2


def test_tampered_checkpoints_are_refused(ledger: LedgerApi) -> None:
    """A checkpoint whose heads or signature were altered, or signed by another key, is a 422."""
    signed = _checkpoint(ledger)
    heads = [dict(signed["heads"][0], hash="0" * 64), *signed["heads"][1:]]
    forged = _verify(ledger, signed | {"heads": heads})
    assert forged.status_code == 422
    assert forged.json()["error"]["problems"][0]["field"] == "checkpoint.signature"
    flipped = bytearray(base64.b64decode(signed["signature"]))
    flipped[0] ^= 1
    bad = _verify(ledger, signed | {"signature": base64.b64encode(bytes(flipped)).decode()})
    assert bad.status_code == 422
    other = _verify(ledger, signed | {"key_id": "ed25519:" + "ab" * 16})
    assert other.status_code == 422
    assert other.json()["error"]["problems"][0]["field"] == "checkpoint.key_id"
    assert _verify(ledger, {"heads": "nope"}).status_code == 422


def test_checkpoints_are_admin_only_and_refused_over_a_broken_ledger(ledger: LedgerApi) -> None:
    """A viewer cannot sign (403); heads of a ledger that does not verify are not signed (409)."""
    assert ledger.call("POST", "/audit/checkpoints", VIEWER).status_code == 403
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET actor = 'x' WHERE seq = 1"))
    refused = ledger.call("POST", "/audit/checkpoints", ADMIN)
    assert refused.status_code == 409
    fields = [p["field"] for p in refused.json()["error"]["problems"]]
    assert fields == ["audit.alpha-one", "audit.beta-two"]


def test_local_signing_key_is_private_and_reused(ledger: LedgerApi, tmp_path: Path) -> None:
    """Without a configured key, one is created under the data dir with mode 0600 and kept."""
    key = tmp_path / KEY_FILE
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    first = _checkpoint(ledger)["key_id"]
    with ledger_api(str(ledger.settings.database_url), tmp_path) as again:
        made = again.call("POST", "/audit/checkpoints", ADMIN)
        assert made.json()["key_id"] == first


def test_evidence_pack_carries_signed_heads(ledger: LedgerApi) -> None:
    """An export carries a checkpoint of its system's chain heads, which `verify` accepts."""
    commit_batch(ledger.engine, batch=RecordBatch(system=system_view("alpha-one")))
    one = ledger.call("GET", "/audit/export?system=alpha-one", VIEWER)
    assert one.status_code == 200, one.text
    signed = one.json()["checkpoint"]
    assert [(h["ledger"], h["chain_id"], h["seq"]) for h in signed["heads"]] == [
        ("audit", "alpha-one", 5)
    ]
    assert _verify(ledger, signed).json()["checkpoint"]["ok"] is True
    every = ledger.call("GET", "/audit/export?all=true&format=csv", VIEWER)
    assert every.status_code == 200
    assert "checkpoint," in every.text and "beta-two" in every.text


def test_without_a_usable_key_checkpoints_answer_503_and_the_rest_works(
    database_url: str, tmp_path: Path
) -> None:
    """An API that cannot create its key verifies and exports (no checkpoint); signing is 503."""
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("a file where the data directory should be")
    with ledger_api(database_url, not_a_dir) as running:
        append(running.engine, "alpha-one", range(1, 3))
        refused = running.call("POST", "/audit/checkpoints", ADMIN)
        assert refused.status_code == 503
        assert "THRESHOLD_AUDIT__SIGNING_KEY" in refused.json()["error"]["message"]
        assert refused.headers["Retry-After"]
        assert running.call("GET", "/audit/verify", VIEWER).json()["ok"] is True
        pack = running.call("GET", "/audit/export?all=true", VIEWER)
        assert pack.status_code == 200 and pack.json()["checkpoint"] is None
