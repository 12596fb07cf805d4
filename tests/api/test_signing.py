"""The checkpoint signing key: from settings as PEM text or a file, or a private local file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pydantic import SecretStr

from core.settings import AuditSettings, Settings
from core.signing import KEY_FILE, SigningKeyError, load_signer
from domain.checkpoints import ChainHead, unsigned_checkpoint

ROOT = Path(__file__).resolve().parents[2]


def _pem() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def _settings(tmp_path: Path, key: str | None) -> Settings:
    secret = None if key is None else SecretStr(key)
    return Settings(data_dir=tmp_path, audit=AuditSettings(signing_key=secret))


def test_configured_key_as_text_or_file_signs_the_same(tmp_path: Path) -> None:
    """One PEM key given inline or as a file path has one key id; its signatures check."""
    pem = _pem()
    path = tmp_path / "key.pem"
    path.write_text(pem)
    path.chmod(0o600)
    inline, from_file = (
        load_signer(_settings(tmp_path, pem)),
        load_signer(_settings(tmp_path, str(path))),
    )
    assert inline.key_id == from_file.key_id
    heads = [ChainHead(ledger="audit", chain_id="s1", seq=3, hash="a" * 64)]
    signed = inline.sign(unsigned_checkpoint(heads, at="t", by="me", key_id="", public_key=""))
    from_file.check(signed)
    assert not (tmp_path / KEY_FILE).exists()  # a configured key means no local key is made


def test_unusable_keys_are_refused_without_echoing_them(tmp_path: Path) -> None:
    """A key readable by others, a missing file or non-key text is refused, never echoed."""
    path = tmp_path / "key.pem"
    path.write_text(_pem())
    path.chmod(0o644)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        load_signer(_settings(tmp_path, str(path)))
    with pytest.raises(SigningKeyError, match="cannot read"):
        load_signer(_settings(tmp_path, str(tmp_path / "missing.pem")))
    junk = "-----BEGIN PRIVATE KEY-----\nnot-a-key-s3cr3t\n-----END PRIVATE KEY-----"
    with pytest.raises(SigningKeyError) as refused:
        load_signer(_settings(tmp_path, junk))
    assert "s3cr3t" not in str(refused.value)


def test_local_key_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    """Unset, the key is created in the data dir (0600) and the same key is read back later."""
    first = load_signer(_settings(tmp_path / "data", None))
    path = tmp_path / "data" / KEY_FILE
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert load_signer(_settings(tmp_path / "data", None)).key_id == first.key_id


def test_processes_starting_together_share_one_local_key(tmp_path: Path) -> None:
    """API processes creating the local key at the same moment all end up with the same key."""
    code = (
        "import sys; from pathlib import Path; from core.settings import Settings;"
        " from core.signing import load_signer;"
        " print(load_signer(Settings(data_dir=Path(sys.argv[1]))).key_id)"
    )
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "data")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        for _ in range(4)
    ]
    answers = [process.communicate(timeout=120) for process in starts]
    assert [p.returncode for p in starts] == [0] * 4, answers
    assert len({out.strip() for out, _ in answers}) == 1
    assert [p.name for p in (tmp_path / "data").iterdir()] == [KEY_FILE]  # no drafts left
