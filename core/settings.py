"""One `Settings` object from environment variables (`THRESHOLD_...`, nested with `__`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PLACEHOLDERS = {"changeme", "change-me", "secret", "xxx", "placeholder", "todo"}


class TemporalSettings(BaseModel):
    """Where Temporal is, and how the embedded dev server runs."""

    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "threshold"
    embedded: bool = Field(default=True, description="`threshold up` starts a dev server")
    ui_port: int = 8233
    max_history_events: int = 10_000
    workflow_cache_size: int = Field(
        default=1000,
        ge=0,
        description="Workflow runs a worker keeps in memory (sticky); each costs its sandbox",
    )
    workflow_id_prefix: str = Field(
        default="", description="Prepended to workflow ids so deployments can share a namespace"
    )
    rpc_timeout: float = Field(
        default=5.0, gt=0, le=60, description="Seconds an API call waits on Temporal before a 503"
    )
    profile: str | None = Field(
        default=None,
        description="temporalio envconfig profile (TOML file + TEMPORAL_* variables) to start "
        "from; THRESHOLD_TEMPORAL__* settings set explicitly override it",
    )
    config_file: Path | None = Field(
        default=None,
        description="envconfig TOML file (default: TEMPORAL_CONFIG_FILE, else "
        "~/.config/temporalio/temporal.toml); read only when this or `profile` is set",
    )
    tls: bool | None = Field(
        default=None, description="TLS on or off; unset: on when any tls_* or api_key is set"
    )
    tls_ca_path: Path | None = Field(
        default=None, description="PEM CA the server cert must chain to"
    )
    tls_server_name: str | None = Field(default=None, description="name the server cert must carry")
    tls_cert_path: Path | None = Field(default=None, description="PEM client certificate (mTLS)")
    tls_key_path: Path | None = Field(default=None, description="PEM client private key (mTLS)")
    api_key: SecretStr | None = Field(default=None, description="API key (Temporal Cloud)")
    encryption_keys: SecretStr | None = Field(
        default=None,
        description='"kid:base64key,..." AES-GCM payload keys; the first encrypts, all decrypt',
    )
    codec_cors_origins: str = Field(
        default="", description="comma-separated origins (the Temporal UI) allowed to call /codec"
    )

    @property
    def cors_origins(self) -> list[str]:
        """The origins allowed to call the codec endpoint."""
        return [o.strip().rstrip("/") for o in self.codec_cors_origins.split(",") if o.strip()]


class ApiSettings(BaseModel):
    """Where the HTTP API listens and how it is reached."""

    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    token_cache_seconds: float = Field(
        default=1.0, ge=0, le=1.0, description="A revocation reaches every API process within this"
    )
    max_body_bytes: int = Field(default=1_000_000, gt=0, description="Larger bodies: 413")
    max_actions_body_bytes: int = Field(default=20_000_000, gt=0, description="POST /actions")
    auth_failures_per_minute: int = Field(
        default=20, gt=0, description="Failed tokens per client address or token id, then 429"
    )
    write_rate_per_second: float = Field(
        default=100.0, ge=0, description="Writes per token per second (0: unlimited), then 429"
    )
    write_burst: int = Field(default=1000, gt=0, description="Writes a token may send at once")
    token_default_days: int = Field(
        default=90, gt=0, description="Lifetime of a non-admin token issued without --expires"
    )
    token_max_days: int = Field(default=365, gt=0, description="Longest lifetime --expires takes")
    authorize_poll_seconds: float = Field(
        default=0.2, gt=0, le=1.0, description="How often the authorize snapshot is re-read"
    )
    authorize_stale_seconds: float = Field(
        default=2.0, gt=0, description="Older than this, production systems are denied"
    )
    authorize_record_allows: bool = Field(
        default=True, description="Record allows in the action ledger (off: the runtime does)"
    )


class SlackSettings(BaseModel):
    """Slack app credentials (optional)."""

    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    approvals_channel: str | None = None
    api_url: str = "https://slack.com/api/"


class JiraSettings(BaseModel):
    """Jira connection (optional; without `url` tickets go to the local tracker)."""

    url: str | None = Field(default=None, description="e.g. https://acme.atlassian.net")
    user: str | None = Field(
        default=None, description="Cloud: account e-mail (basic auth); empty on Data Center"
    )
    api_token: SecretStr | None = Field(
        default=None, description="Cloud API token, or a Data Center personal access token"
    )
    project: str = "GOV"
    issue_type: str = "Task"
    done_transition: str = Field(default="Done", description="status an approved request reaches")
    rejected_transition: str = Field(
        default="Won't Do", description="status a rejected or expired request reaches"
    )

    @model_validator(mode="after")
    def _complete(self) -> JiraSettings:
        if self.url and self.api_token is None:
            raise ValueError(
                "THRESHOLD_JIRA__URL is set but THRESHOLD_JIRA__API_TOKEN is not: set the API "
                "token (Cloud, with THRESHOLD_JIRA__USER) or personal access token (Data Center), "
                "or unset THRESHOLD_JIRA__URL to use the local tracker"
            )
        return self


class RevokerSettings(BaseModel):
    """Who revokes a contained or retired system's credentials (first one set wins)."""

    command: str | None = Field(
        default=None,
        description="Shell command; gets THRESHOLD_REVOKE_* variables; exit 0 confirms",
    )
    webhook_url: str | None = Field(default=None, description="POSTed JSON; a 2xx confirms")
    record_file: Path | None = Field(
        default=None, description="Append each call to this JSON-lines file (tests, dry runs)"
    )


class AuditSettings(BaseModel):
    """How ledger checkpoints are signed."""

    signing_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 private key signing ledger checkpoints: PEM text or a PEM file's "
        "path; unset: <data_dir>/audit-signing-key.pem, created (0600) on first start",
    )


class OidcSettings(BaseModel):
    """Dashboard single sign-on (OpenID Connect, authorization code + PKCE); off without issuer."""

    issuer: str | None = Field(default=None, description="e.g. https://acme.okta.com")
    client_id: str | None = None
    client_secret: SecretStr | None = Field(
        default=None, description="Confidential clients; PKCE is used either way"
    )
    scopes: str = "openid email profile"
    email_claim: str = "email"
    groups_claim: str = "groups"
    group_roles: dict[str, Literal["viewer", "emitter", "approver", "admin"]] = Field(
        default_factory=dict,
        description='IdP group → dashboard role, JSON: {"gov-approvers": "approver"}; highest wins',
    )
    default_role: Literal["viewer", "emitter", "approver", "admin"] | None = Field(
        default=None, description="Role of a user in no mapped group; unset: such users are refused"
    )
    session_hours: float = Field(default=8.0, gt=0, description="A dashboard session's lifetime")
    session_secret: SecretStr | None = Field(
        default=None,
        description="Signs session cookies; same on every API replica (default: from the "
        "client secret)",
    )

    @model_validator(mode="after")
    def _complete(self) -> OidcSettings:
        if self.issuer and not self.client_id:
            raise ValueError("THRESHOLD_OIDC__ISSUER is set but THRESHOLD_OIDC__CLIENT_ID is not")
        host = urlsplit(self.issuer or "").hostname
        if self.issuer and not self.issuer.startswith("https://") and host not in LOOPBACK:
            raise ValueError(
                "THRESHOLD_OIDC__ISSUER must be an https:// URL (plain http: loopback only)"
            )
        if self.issuer and self.client_secret is None and self.session_secret is None:
            raise ValueError(
                "a public OIDC client needs THRESHOLD_OIDC__SESSION_SECRET (32+ random bytes, "
                "the same on every API replica) to sign dashboard sessions"
            )
        return self


class ObservabilitySettings(BaseModel):
    """Logs, metrics, traces and readiness (docs/observability.md)."""

    log_format: Literal["json", "text"] | None = Field(
        default=None, description="json, or text; unset: text in development, json elsewhere"
    )
    metrics_public: bool = Field(
        default=False, description="Serve /metrics without a bearer token (private networks only)"
    )
    metrics_cache_seconds: float = Field(
        default=10.0, description="How long the gauges read from the database are reused"
    )
    worker_metrics_bind: str | None = Field(
        default=None, description="host:port where the worker serves Temporal SDK metrics"
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP base URL (e.g. http://collector:4318); unset: no traces",
    )
    service_name: str = "threshold"
    readiness_cache_seconds: float = 2.0
    readiness_timeout_seconds: float = 2.0


class Settings(BaseSettings):
    """Every setting Threshold reads; defaults run everything on one machine."""

    model_config = SettingsConfigDict(
        env_prefix="THRESHOLD_", env_nested_delimiter="__", extra="ignore"
    )

    environment: str = "development"
    data_dir: Path = Path(".threshold")
    database_url: str = ""
    policy_file: Path | None = None
    log_level: str = "INFO"
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    jira: JiraSettings = Field(default_factory=JiraSettings)
    revoker: RevokerSettings = Field(default_factory=RevokerSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    oidc: OidcSettings = Field(default_factory=OidcSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)

    @model_validator(mode="after")
    def _defaults_and_secrets(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'threshold.db').as_posix()}"
        if self.environment != "development":
            for name, value in (
                ("slack.bot_token", self.slack.bot_token),
                ("slack.signing_secret", self.slack.signing_secret),
                ("jira.api_token", self.jira.api_token),
                ("temporal.api_key", self.temporal.api_key),
                ("oidc.client_secret", self.oidc.client_secret),
                ("oidc.session_secret", self.oidc.session_secret),
            ):
                if value is not None and value.get_secret_value().lower() in PLACEHOLDERS:
                    raise ValueError(
                        f"THRESHOLD_{name.upper().replace('.', '__')} is a placeholder"
                    )
        return self

    @property
    def api_url(self) -> str:
        """The URL people and the CLI use to reach the API."""
        return self.api.public_url or f"http://{self.api.host}:{self.api.port}"


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
