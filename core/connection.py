"""From settings to `Client.connect` arguments, and from a failed connect to one clear line.

Without `profile` or `config_file` only `THRESHOLD_TEMPORAL__*` count (so `threshold up` is
unchanged: plain, 127.0.0.1:7233). With either, the envconfig profile (TOML file and the SDK's
`TEMPORAL_*` variables) is loaded first and every `THRESHOLD_TEMPORAL__*` set explicitly wins.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.envconfig import ClientConfigProfile, ClientConfigTLS, ClientConnectConfig

from core.codec import CodecError, codec_from_keys
from core.settings import Settings, TemporalSettings

PREFIX = "THRESHOLD_TEMPORAL__"
TLS_FILES = {
    "tls_ca_path": "server_root_ca_cert",
    "tls_cert_path": "client_cert",
    "tls_key_path": "client_private_key",
}


class TemporalConnectError(RuntimeError):
    """Temporal could not be reached or the connection settings are unusable.

    `retryable` is True only for a server that may still be starting (connection refused).
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


def data_converter(settings: Settings) -> DataConverter:
    """The pydantic converter; with encryption keys, payloads and failure texts encrypted."""
    try:
        codec = codec_from_keys(_secret(settings.temporal.encryption_keys))
    except CodecError as exc:
        raise TemporalConnectError(str(exc)) from None
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def connect_options(settings: Settings) -> ClientConnectConfig:
    """Keyword arguments for `Client.connect` (without the data converter)."""
    temporal = settings.temporal
    base = _profile(temporal)
    explicit = temporal.model_fields_set if base is not None else set(TemporalSettings.model_fields)
    base = base or ClientConfigProfile()
    profile = dataclasses.replace(
        base,
        address=temporal.address if "address" in explicit or not base.address else base.address,
        namespace=(
            temporal.namespace
            if "namespace" in explicit or base.namespace is None
            else base.namespace
        ),
        api_key=_secret(temporal.api_key) or base.api_key,
        tls=_tls(temporal, base.tls),
    )
    options = profile.to_client_connect_config()
    options.setdefault("target_host", temporal.address)
    return options


def _profile(temporal: TemporalSettings) -> ClientConfigProfile | None:
    """The envconfig profile, when one is asked for."""
    if temporal.profile is None and temporal.config_file is None:
        return None
    if temporal.config_file is not None and not temporal.config_file.is_file():
        raise TemporalConnectError(f"{PREFIX}CONFIG_FILE: no such file {temporal.config_file}")
    try:
        return ClientConfigProfile.load(
            temporal.profile, config_source=temporal.config_file, config_file_strict=True
        )
    except (RuntimeError, ValueError) as exc:
        where = temporal.config_file or "the default envconfig file"
        raise TemporalConnectError(
            f"{PREFIX}PROFILE: cannot load profile {temporal.profile or 'default'!r} "
            f"from {where}: {_first_line(exc)}"
        ) from None


def _tls(temporal: TemporalSettings, base: ClientConfigTLS | None) -> ClientConfigTLS | None:
    """The profile's TLS block with every explicitly set tls_* setting applied."""
    changes: dict[str, object] = {}
    for field, target in TLS_FILES.items():
        path: Path | None = getattr(temporal, field)
        if path is not None:
            if not path.is_file():
                raise TemporalConnectError(f"{PREFIX}{field.upper()}: no such file {path}")
            changes[target] = path
    if temporal.tls_server_name:
        changes["server_name"] = temporal.tls_server_name
    if temporal.tls is not None:
        changes["disabled"] = not temporal.tls
    if not changes:
        return base
    return dataclasses.replace(base or ClientConfigTLS(), **changes)  # type: ignore[arg-type]


def _secret(value: object) -> str | None:
    """The plain value of an optional SecretStr."""
    get = getattr(value, "get_secret_value", None)
    return str(get()) if get is not None else None


def _first_line(exc: BaseException | str) -> str:
    """The first line of an error's text (its type name if it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


CAUSES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("UnknownIssuer", "certificate verify failed", "BadSignature"),
        "TLS certificate verify failed: the server's certificate does not chain to the CA",
        "TLS_CA_PATH",
    ),
    (
        ("NotValidForName",),
        "TLS server name mismatch: the server's certificate is not for this name",
        "TLS_SERVER_NAME",
    ),
    (("InvalidCertificate(Expired",), "TLS certificate expired", "TLS_CA_PATH"),
    (
        ("Unauthenticated",),
        "the server refused the credentials (API key missing, wrong or expired)",
        "API_KEY",
    ),
    (
        ("PermissionDenied",),
        "permission denied for this namespace",
        "NAMESPACE and the API key's or certificate's permissions",
    ),
    (("ConnectionRefused",), "connection refused (is Temporal running there?)", "ADDRESS"),
    (
        ("dns error", "failed to lookup address", "Name or service not known"),
        "host not found",
        "ADDRESS",
    ),
)


RETRYABLE = frozenset({"ADDRESS", "TLS and TLS_CA_PATH"})
"""Causes a server that is still starting can show; `threshold up` waits on these."""


def explain(
    exc: BaseException, options: ClientConnectConfig, settings: Settings
) -> TemporalConnectError:
    """One line naming what went wrong connecting with `options` and the setting to check."""
    text = str(exc)
    reason, setting = _cause(text, tls_on=bool(options.get("tls")))
    target = options.get("target_host", settings.temporal.address)
    hint = f"check {PREFIX}{setting}"
    if settings.temporal.profile or settings.temporal.config_file:
        hint += f" or envconfig profile {settings.temporal.profile or 'default'!r}"
    return TemporalConnectError(
        f"cannot reach Temporal at {target}: {reason} ({hint})",
        retryable=setting in RETRYABLE,
    )


def _cause(text: str, *, tls_on: bool) -> tuple[str, str]:
    """The reason and the setting for an SDK connect error's text."""
    for needles, reason, setting in CAUSES:
        if any(needle in text for needle in needles):
            return reason, setting
    closed = ("connection closed", "close_notify", "broken pipe", "transport error", "Canceled")
    if any(needle in text for needle in closed):
        if tls_on:
            return (
                "the server closed the TLS connection (client certificate missing or not trusted?)",
                "TLS_CERT_PATH and TLS_KEY_PATH",
            )
        return "the server closed the connection (does it expect TLS?)", "TLS and TLS_CA_PATH"
    return _first_line(text.removeprefix("Failed client connect: ")), "ADDRESS"
