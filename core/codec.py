"""Payload encryption for Temporal histories: AES-GCM with key ids and a rotating key ring.

Every payload the SDK writes (workflow inputs, update arguments and results, query answers,
activity inputs, memo) is serialised whole, encrypted with the ring's first key and stored as
`binary/encrypted` with the key id in its metadata. Decoding picks the key by that id, so a ring
of `new, old` writes with the new key and still reads what the old one wrote. Payloads that are
not encrypted (written before encryption was turned on) pass through unchanged.

Errors: `CodecError` (a `ValueError`) for a malformed key ring, a payload whose key id is not in
the ring, or a payload that does not decrypt; each message names the setting to fix and never
contains key material.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

SETTING = "THRESHOLD_TEMPORAL__ENCRYPTION_KEYS"
ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
CIPHER = "encryption-cipher"
CIPHER_NAME = b"AES/GCM/NoPadding"
NONCE_BYTES = 12
KEY_BYTES = (16, 24, 32)


class CodecError(ValueError):
    """A key ring or an encrypted payload that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class KeyRing:
    """Named AES keys; the first encrypts, every one decrypts."""

    keys: tuple[tuple[str, AESGCM], ...]

    @property
    def current(self) -> str:
        """The id of the key new payloads are encrypted with."""
        return self.keys[0][0]

    def key(self, key_id: str) -> AESGCM:
        """The key with this id, or a `CodecError` naming the setting."""
        for kid, key in self.keys:
            if kid == key_id:
                return key
        raise CodecError(
            f"payload was encrypted with key id {key_id!r}, which is not in {SETTING} "
            f"(ids there: {', '.join(k for k, _ in self.keys)}); add that key after the current one"
        )

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """A ring from `kid:base64key,kid:base64key` (first one current)."""
        entries = [entry.strip() for entry in text.split(",") if entry.strip()]
        if not entries:
            raise CodecError(f"{SETTING} is empty: give at least one kid:base64key")
        keys: list[tuple[str, AESGCM]] = []
        for position, entry in enumerate(entries, start=1):
            kid, sep, encoded = entry.partition(":")
            kid = kid.strip()
            if not sep or not kid:
                raise CodecError(f"{SETTING} entry {position} is not kid:base64key")
            if any(kid == known for known, _ in keys):
                raise CodecError(f"{SETTING} names key id {kid!r} twice")
            keys.append((kid, AESGCM(_key_bytes(kid, encoded.strip()))))
        return cls(keys=tuple(keys))


def _key_bytes(kid: str, encoded: str) -> bytes:
    """The raw bytes of one base64 key, or a `CodecError` that does not echo the key."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise CodecError(f"{SETTING}: key {kid!r} is not valid base64") from None
    if len(raw) not in KEY_BYTES:
        raise CodecError(
            f"{SETTING}: key {kid!r} is {len(raw)} bytes; AES needs 16, 24 or 32 "
            '(make one with: python -c "import base64,os; print(base64.b64encode(os.urandom(32))'
            '.decode())")'
        )
    return raw


class EncryptionCodec(PayloadCodec):
    """Encrypts each payload with the ring's current key; decrypts by the key id it carries."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypted copies of `payloads`, tagged with the current key id."""
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """The original payloads; unencrypted ones pass through."""
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        """One payload, serialised and sealed; the key id is bound as associated data."""
        kid = self.ring.current
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.ring.key(kid).encrypt(nonce, payload.SerializeToString(), kid.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: kid.encode(), CIPHER: CIPHER_NAME},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        """One payload opened with the key its id names (unencrypted: returned as is)."""
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        kid = payload.metadata.get(KEY_ID, b"").decode()
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = self.ring.key(kid).decrypt(nonce, sealed, kid.encode())
        except InvalidTag:
            raise CodecError(
                f"payload with key id {kid!r} does not decrypt: the key under that id in "
                f"{SETTING} is not the one it was written with"
            ) from None
        opened = Payload()
        opened.ParseFromString(plain)
        return opened


def codec_from_keys(keys: str | None) -> EncryptionCodec | None:
    """The codec for a configured key ring, or None when encryption is off."""
    if not keys or not keys.strip():
        return None
    return EncryptionCodec(KeyRing.parse(keys))


def new_key() -> str:
    """A fresh random AES-256 key, base64 (for a new `kid:key` entry)."""
    return base64.b64encode(os.urandom(32)).decode()
