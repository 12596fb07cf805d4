"""The AI-system manifest: what a system is, who owns it and what it may do."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from domain.emails import Email
from domain.errors import InvalidInput, Problem
from domain.mcp import McpServer
from domain.secrets import SECRET_HINT, FreeText, NotSecret, scrub, secret_message, shown

SYSTEM_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$"
SystemId = Annotated[str, Field(pattern=SYSTEM_ID_PATTERN)]


class DataClassification(StrEnum):
    """How sensitive the data the system touches is."""

    public = "public"
    internal = "internal"
    confidential = "confidential"
    regulated = "regulated"


class Autonomy(StrEnum):
    """How far the system may act without a person."""

    suggest_only = "suggest_only"
    human_in_the_loop = "human_in_the_loop"
    autonomous = "autonomous"


class Environment(StrEnum):
    """Where a system or credential runs."""

    pilot = "pilot"
    production = "production"


class CredentialKind(StrEnum):
    """The kind of non-human identity."""

    api_key = "api_key"
    service_account = "service_account"
    oauth_client = "oauth_client"
    token = "token"


class ContentLogging(StrEnum):
    """How much of prompt and output content the action ledger keeps."""

    digest = "digest"
    redacted = "redacted"
    full = "full"


class Strict(BaseModel):
    """Base for manifest parts: unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class UseCase(Strict):
    """One documented use of the system and where a human must approve."""

    name: FreeText = Field(min_length=1)
    purpose: FreeText = Field(min_length=1)
    human_approval: list[FreeText] = Field(
        default_factory=list,
        description="Actions a human must approve before the AI acts (empty: none defined).",
    )
    affects_real_decisions: bool = False


class Capabilities(Strict):
    """What the system can touch and trigger."""

    read_targets: list[FreeText] = Field(default_factory=list)
    write_targets: list[FreeText] = Field(default_factory=list)
    tools: list[FreeText] = Field(default_factory=list)
    automated_decisions: list[FreeText] = Field(default_factory=list)
    downstream_automation: list[FreeText] = Field(default_factory=list)


class ModelRef(Strict):
    """The model behind the system."""

    provider: FreeText = Field(min_length=1)
    name: FreeText = Field(min_length=1)
    version: FreeText = Field(min_length=1)


class LoggingPolicy(Strict):
    """What the system logs to the action ledger."""

    prompts: bool = True
    outputs: bool = True
    tool_calls: bool = True
    privileged_actions: bool = True
    content: ContentLogging = ContentLogging.digest
    retention_days: int = Field(default=365, ge=1)


# A reference has a scheme (vault://kv/app) or is a path of at least two segments (kv/app);
# a bare token such as `sk_live_...` is a secret value, and `user:pass@` in a URL embeds one.
_VAULT_REF = re.compile(r"^[a-z][a-z0-9+.-]*://[^\s@]+$|^[\w.-]+(/[\w.-]+)+$")


class Credential(Strict):
    """A non-human identity the system uses: a reference to a secret, never the secret."""

    id: str = Field(min_length=1, max_length=128)
    kind: CredentialKind
    environment: Environment
    owner: Email | None = None
    scopes: list[NotSecret] = Field(default_factory=list)
    expires_at: datetime | None = None
    vault_ref: str = Field(min_length=1, description="Where the secret lives, e.g. vault://kv/x")
    created_at: datetime | None = Field(default=None, description="When it was issued.")
    last_rotated_at: datetime | None = Field(default=None, description="When it was last rotated.")
    rotation_days: int | None = Field(
        default=None, ge=1, description="Rotation period in days (instead of, or beside, expiry)."
    )

    @field_validator("id", "vault_ref", "owner")
    @classmethod
    def _no_secret(cls, value: str | None) -> str | None:
        message = secret_message(value) if value else None
        if message is not None:
            raise ValueError(message)
        return value

    @field_validator("vault_ref")
    @classmethod
    def _reference_not_value(cls, value: str) -> str:
        if not _VAULT_REF.match(value):
            raise ValueError(
                "give a reference to where the secret lives (e.g. vault://kv/app), never the secret"
            )
        return value

    @field_validator("expires_at", "created_at", "last_rotated_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        """A time without a zone (e.g. `2027-09-30`) is read as UTC so it compares with `now`."""
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class AISystemManifest(Strict):
    """The declared shape of one AI system, versioned with the code that deploys it."""

    id: SystemId
    name: FreeText = Field(min_length=1, max_length=200)
    description: FreeText = ""
    business_owner: Email | None = None
    technical_owner: Email | None = None
    use_cases: list[UseCase] = Field(default_factory=list)
    data_classification: DataClassification
    synthetic_data_only: bool = False
    customer_facing: bool = False
    autonomy: Autonomy = Autonomy.suggest_only
    capabilities: Capabilities = Field(default_factory=Capabilities)
    mcp_servers: list[McpServer] = Field(
        default_factory=list, description="MCP servers it calls, with the tools approved on each."
    )
    model: ModelRef
    credentials: list[Credential] = Field(default_factory=list)
    logging: LoggingPolicy | None = None
    environment: Environment = Environment.pilot


_ALLOWED_HINTS: dict[str, str] = {
    "enum": "allowed: {expected}",
    "missing": "this field is required",
    "extra_forbidden": "unknown field; remove it or check its spelling",
    "string_pattern_mismatch": "use 3-64 lowercase letters, digits and dashes",
    "value_error": "{msg}",
}


def _field_path(loc: tuple[int | str, ...]) -> str:
    """`("credentials", 0, "owner")` → `credentials[0].owner`, the form gaps use too."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            part = scrub(part)  # an unknown key can itself be a secret
            path += f".{part}" if path else part
    return path or "(manifest)"


def _problem_from_error(error: Any) -> Problem:
    path = _field_path(error["loc"])
    kind = error["type"]
    given = error.get("input")
    template = _ALLOWED_HINTS.get(kind)
    context = error.get("ctx") or {}
    if template is not None:
        message = str(error["msg"]).removeprefix("Value error, ")
        hint = template.format(expected=context.get("expected", ""), msg=message)
    else:
        hint = error["msg"]
    if kind == "missing":
        return Problem(path, f"missing: {hint}")
    if SECRET_HINT in hint or (isinstance(given, str) and secret_message(given)):
        return Problem(path, hint)  # never echo a secret back
    return Problem(path, f"{shown(given)} is not valid: {scrub(hint)}")


def parse_manifest(data: Any) -> AISystemManifest:
    """Validate raw manifest data; every problem names its field, the bad value and the fix."""
    if not isinstance(data, dict):
        raise InvalidInput(
            "the manifest must be a mapping of fields",
            [Problem("(manifest)", "give a YAML or JSON object")],
        )
    try:
        return AISystemManifest.model_validate(data)
    except ValidationError as exc:
        problems = [_problem_from_error(err) for err in exc.errors()]
        summary = "; ".join(f"{p.field}: {p.message}" for p in problems)
        raise InvalidInput(f"invalid manifest: {summary}", problems) from None


def parse_credential(data: Any) -> Credential:
    """Validate one credential; a secret value anywhere is refused without being echoed."""
    if not isinstance(data, dict):
        raise InvalidInput(
            "the credential must be an object",
            [Problem("(credential)", "give id, kind, environment, owner, expires_at, vault_ref")],
        )
    try:
        return Credential.model_validate(data)
    except ValidationError as exc:
        problems = [_problem_from_error(err) for err in exc.errors()]
        summary = "; ".join(f"{p.field}: {p.message}" for p in problems)
        raise InvalidInput(f"invalid credential: {summary}", problems) from None
