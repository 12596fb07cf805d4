"""The Ed25519 key that signs ledger checkpoints: from settings, or a local key made once.

`THRESHOLD_AUDIT__SIGNING_KEY` holds a PEM private key, or the path of a PEM file. Unset, the
key is `<data_dir>/audit-signing-key.pem`, created with mode 0600 the first time a process
needs it (several API replicas must share one key: set it in settings there). A key file that
others can read is refused. An API without a usable key still serves everything else; its
checkpoint requests answer 503 saying why, and its evidence packs carry no checkpoint. The key
is never logged; only its id (a public key fingerprint) appears in checkpoints and errors.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from core.settings import Settings
from domain.checkpoints import Checkpoint, signed_bytes
from domain.errors import InvalidInput, Problem

logger = logging.getLogger(__name__)
KEY_FILE = "audit-signing-key.pem"
SETTING = "THRESHOLD_AUDIT__SIGNING_KEY"


class SigningKeyError(Exception):
    """The configured signing key cannot be used (the message says why, never the key)."""


class CheckpointSigner:
    """Signs checkpoints and checks signatures with one Ed25519 key."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public = key.public_key()
        raw = self.public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_key = base64.b64encode(raw).decode()
        self.key_id = "ed25519:" + hashlib.sha256(raw).hexdigest()[:32]

    def sign(self, checkpoint: Checkpoint) -> Checkpoint:
        """The checkpoint with this key's id, public key and signature."""
        named = checkpoint.model_copy(update={"key_id": self.key_id, "public_key": self.public_key})
        signature = base64.b64encode(self._key.sign(signed_bytes(named))).decode()
        return named.model_copy(update={"signature": signature})

    def check(self, checkpoint: Checkpoint) -> None:
        """Refuse (InvalidInput) a checkpoint this key did not sign exactly as it is."""
        if checkpoint.key_id != self.key_id:
            raise InvalidInput(
                f"the checkpoint is signed by key {checkpoint.key_id}; this deployment signs "
                f"with {self.key_id}",
                [Problem("checkpoint.key_id", "verify it where it was made, or with its key")],
            )
        try:
            signature = base64.b64decode(checkpoint.signature, validate=True)
            self.public.verify(signature, signed_bytes(checkpoint))
        except (InvalidSignature, ValueError):
            raise InvalidInput(
                "the checkpoint's signature does not match its contents: it was altered after "
                "signing (or is not a Threshold checkpoint)",
                [Problem("checkpoint.signature", "use the checkpoint file exactly as written")],
            ) from None


def startup_signer(settings: Settings) -> CheckpointSigner | SigningKeyError:
    """The signer, or why there is none: logged once, and checkpoint requests answer 503."""
    try:
        return load_signer(settings)
    except SigningKeyError as exc:
        logger.warning("ledger checkpoints are unavailable: %s", exc)
        return exc


def load_signer(settings: Settings) -> CheckpointSigner:
    """The signer for these settings (the local key file is created on first use)."""
    configured = settings.audit.signing_key
    if configured is None:
        return CheckpointSigner(_local_key(settings.data_dir / KEY_FILE))
    value = configured.get_secret_value().strip()
    if value.startswith("-----BEGIN"):
        return CheckpointSigner(_parse(value.encode(), SETTING))
    return CheckpointSigner(_read(Path(value)))


def _local_key(path: Path) -> Ed25519PrivateKey:
    """The key in `path`, written there (0600) first when there is none.

    The new key is written whole to a private temporary file and then linked into place, so a
    process starting at the same moment reads either no file or a complete one, and when two
    race, both use the key that was linked first.
    """
    if not path.exists():
        try:
            _create(path)
        except OSError as exc:
            raise SigningKeyError(
                f"cannot create the ledger signing key {path}: {exc.strerror}; set {SETTING} "
                "or make the data directory writable"
            ) from None
    return _read(path)


def _create(path: Path) -> None:
    """Write a new key to `path` unless another process gets there first."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        os.link(draft, path)
    except FileExistsError:  # another process linked its key first: use theirs
        pass
    finally:
        draft.unlink(missing_ok=True)


def _read(path: Path) -> Ed25519PrivateKey:
    """The key in a PEM file that only its owner can read."""
    try:
        mode = path.stat().st_mode
        text = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(
            f"cannot read the ledger signing key {path}: {exc.strerror}; set {SETTING}"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningKeyError(
            f"the ledger signing key {path} can be read by others: run `chmod 600 {path}`"
        )
    return _parse(text, str(path))


def _parse(pem: bytes, where: str) -> Ed25519PrivateKey:
    """An unencrypted Ed25519 private key from PEM bytes."""
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{where} is not an unencrypted Ed25519 private key in PEM")
    return key


def derived_key(settings: Settings, label: str) -> bytes:
    """A 32-byte key derived from the signing key for `label` (Ed25519 signs deterministically).

    Webhook signing secrets are derived so (`webhook:<subscription id>`): the database never
    holds them, and every API and worker process with the signing key derives the same one.
    """
    signer = load_signer(settings)
    signature = signer._key.sign(f"threshold-derived-key\n{label}".encode())
    return hashlib.sha256(signature).digest()


def webhook_key(settings: Settings, webhook_id: str) -> bytes:
    """The HMAC key of a webhook subscription, derived from the signing key (never stored)."""
    return derived_key(settings, f"webhook:{webhook_id}")
