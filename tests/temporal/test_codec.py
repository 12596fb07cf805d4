"""The payload codec and the connection options, without a server: key rings, tampering,
composition with the pydantic converter, and how settings and envconfig profiles combine."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import TLSConfig

from core.codec import ENCODING, KEY_ID, CodecError, EncryptionCodec, KeyRing, new_key
from core.settings import Settings, TemporalSettings
from core.temporal import TemporalConnectError, connect_options, data_converter

K1 = base64.b64encode(os.urandom(32)).decode()
K2 = new_key()
PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"owner":"dana@example.com"}')


class Owner(BaseModel):
    """A stand-in for a manifest fragment."""

    email: str


def settings(**temporal: object) -> Settings:
    """Settings with only these Temporal fields set."""
    return Settings(temporal=TemporalSettings(**temporal))


async def test_round_trip_hides_the_plain_text_and_records_the_key_id() -> None:
    """An encoded payload holds no plain text, names its key id, and decodes to the original."""
    codec = EncryptionCodec(KeyRing.parse(f"k1:{K1}"))
    [sealed] = await codec.encode([PLAIN])
    assert b"dana@example.com" not in sealed.SerializeToString()
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID] == b"k1"
    assert await codec.decode([sealed]) == [PLAIN]


async def test_rotation_writes_with_the_first_key_and_reads_with_all() -> None:
    """After rotation (new key first), new payloads use the new id and old ones still decode."""
    old = EncryptionCodec(KeyRing.parse(f"k1:{K1}"))
    rotated = EncryptionCodec(KeyRing.parse(f"k2:{K2}, k1:{K1}"))
    [written_before] = await old.encode([PLAIN])
    [written_after] = await rotated.encode([PLAIN])
    assert written_after.metadata[KEY_ID] == b"k2"
    assert await rotated.decode([written_before, written_after]) == [PLAIN, PLAIN]


async def test_unencrypted_payloads_pass_through() -> None:
    """Payloads written before encryption was turned on decode unchanged."""
    codec = EncryptionCodec(KeyRing.parse(f"k1:{K1}"))
    assert await codec.decode([PLAIN]) == [PLAIN]


async def test_a_relabelled_or_rekeyed_payload_is_refused() -> None:
    """Changing a payload's key id, or the key behind an id, fails to decrypt with a message naming the id."""
    [sealed] = await EncryptionCodec(KeyRing.parse(f"k1:{K1}")).encode([PLAIN])
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"k2"}, data=sealed.data)
    both = EncryptionCodec(KeyRing.parse(f"k1:{K1},k2:{K1}"))
    with pytest.raises(CodecError, match="key id 'k2' does not decrypt"):
        await both.decode([relabelled])
    with pytest.raises(CodecError, match="key id 'k1' does not decrypt"):
        await EncryptionCodec(KeyRing.parse(f"k1:{K2}")).decode([sealed])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("k1", "entry 1 is not kid:base64key"),
        (f"k1:{K1},k1:{K2}", "names key id 'k1' twice"),
        ("k1:not base64!", "key 'k1' is not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "key 'k1' is 5 bytes"),
    ],
)
def test_bad_key_rings_name_the_setting_and_never_the_key(text: str, message: str) -> None:
    """Each malformed THRESHOLD_TEMPORAL__ENCRYPTION_KEYS is refused naming the setting, not echoing keys."""
    with pytest.raises(CodecError) as raised:
        KeyRing.parse(text)
    assert message in str(raised.value)
    assert str(raised.value).startswith("THRESHOLD_TEMPORAL__ENCRYPTION_KEYS")
    assert K1 not in str(raised.value) and K2 not in str(raised.value)


async def test_converter_composes_pydantic_with_the_codec() -> None:
    """With keys set, the converter is pydantic's plus the codec: models round-trip, bytes are sealed."""
    assert data_converter(settings()) is pydantic_data_converter
    converter = data_converter(settings(encryption_keys=SecretStr(f"k1:{K1}")))
    assert converter.payload_converter_class is pydantic_data_converter.payload_converter_class
    [sealed] = await converter.encode([Owner(email="dana@example.com")])
    assert sealed.metadata["encoding"] == ENCODING
    assert b"dana@example.com" not in sealed.data
    assert await converter.decode([sealed], [Owner]) == [Owner(email="dana@example.com")]


def test_bad_keys_fail_the_connection_before_any_network_call() -> None:
    """A malformed key ring stops connect with the codec's one-line message."""
    with pytest.raises(TemporalConnectError, match="ENCRYPTION_KEYS entry 1"):
        data_converter(settings(encryption_keys=SecretStr("nonsense")))


def test_defaults_stay_plain_local_and_ignore_the_sdk_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unconfigured, the client dials 127.0.0.1:7233 in plain text, even with TEMPORAL_* variables set."""
    monkeypatch.setenv("TEMPORAL_ADDRESS", "elsewhere:7233")
    monkeypatch.setenv("TEMPORAL_API_KEY", "from-env")
    assert connect_options(settings()) == {"target_host": "127.0.0.1:7233", "namespace": "default"}


def test_tls_turns_on_with_any_tls_setting_and_off_when_told(tmp_path: Path) -> None:
    """A CA path alone enables TLS with it; an API key alone enables TLS with system roots; tls=false wins."""
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    with_ca = connect_options(settings(tls_ca_path=ca, tls_server_name="t.test"))
    assert isinstance(with_ca["tls"], TLSConfig)
    assert with_ca["tls"].domain == "t.test"
    assert with_ca["tls"].server_root_ca_cert == ca.read_bytes()
    keyed = connect_options(settings(api_key=SecretStr("k")))
    assert keyed["tls"] is True and keyed["api_key"] == "k"
    assert connect_options(settings(api_key=SecretStr("k"), tls=False))["tls"] is False


def test_explicit_settings_override_the_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A profile fills what THRESHOLD_TEMPORAL__* leaves unset; what is set explicitly wins."""
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    config = tmp_path / "temporal.toml"
    config.write_text(
        '[profile.cloud]\naddress = "ns.acct.tmprl.cloud:7233"\nnamespace = "ns.acct"\n'
        'api_key = "profile-key"\n'
    )
    from_profile = connect_options(settings(profile="cloud", config_file=config))
    assert from_profile == {
        "target_host": "ns.acct.tmprl.cloud:7233",
        "namespace": "ns.acct",
        "api_key": "profile-key",
        "tls": True,
    }
    overridden = connect_options(
        settings(profile="cloud", config_file=config, namespace="other", api_key=SecretStr("mine"))
    )
    assert overridden["namespace"] == "other"
    assert overridden["api_key"] == "mine"
    assert overridden["target_host"] == "ns.acct.tmprl.cloud:7233"


def test_missing_profile_file_and_unknown_profile_say_so(tmp_path: Path) -> None:
    """A config file that does not exist, or a profile it lacks, fails naming the setting."""
    with pytest.raises(TemporalConnectError, match="CONFIG_FILE: no such file"):
        connect_options(settings(config_file=tmp_path / "nope.toml"))
    config = tmp_path / "temporal.toml"
    config.write_text('[profile.cloud]\naddress = "a:1"\n')
    with pytest.raises(TemporalConnectError, match="PROFILE: cannot load profile 'prod'"):
        connect_options(settings(profile="prod", config_file=config))


def test_placeholder_api_key_is_refused_outside_development() -> None:
    """`THRESHOLD_TEMPORAL__API_KEY=changeme` is refused in production, naming the variable."""
    with pytest.raises(ValueError, match="THRESHOLD_TEMPORAL__API_KEY is a placeholder"):
        Settings(environment="production", temporal=TemporalSettings(api_key=SecretStr("changeme")))
