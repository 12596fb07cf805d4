"""The action ledger's rules: what an AI system did, what of it is kept, and `check_action`.

An `ActionRecord` is one prompt, output, tool call or privilege-bearing action, with the
credential it used and the person who approved it. `ActionScope` is what the system is
approved to do (built from its approved manifest); `check_action` compares the two.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.manifest import (
    SYSTEM_ID_PATTERN,
    AISystemManifest,
    ContentLogging,
    Environment,
    ModelRef,
)
from domain.redaction import mask_secrets, redact
from domain.runtime_model import accepted_names, model_message, normal
from domain.secrets import secret_kind

__all__ = ["redact"]  # re-exported: callers and tests import it from here


class ActionKind(StrEnum):
    """What kind of thing the system did."""

    prompt = "prompt"
    output = "output"
    tool_call = "tool_call"
    privileged_action = "privileged_action"


class ActionRecord(BaseModel):
    """One thing an AI system did, as its runtime reports it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    system: str = Field(pattern=SYSTEM_ID_PATTERN, description="The system id.")
    environment: Environment
    time: datetime = Field(description="When it happened (RFC 3339; no zone = UTC, as stored).")
    kind: ActionKind
    trace_id: str = Field(min_length=1, max_length=200)
    id: str | None = Field(
        default=None, max_length=200, description="Unique per system; makes a re-send a no-op."
    )
    tool: str | None = Field(default=None, max_length=200)
    target: str | None = Field(default=None, max_length=500)
    access: Literal["read", "write"] | None = Field(
        default=None, description="How the target is touched (privileged actions: write)."
    )
    action: str | None = Field(
        default=None, max_length=500, description="The action's name, matched to human_approval."
    )
    credential_id: str | None = Field(default=None, max_length=128)
    approved_by: str | None = Field(default=None, max_length=320)
    content: str | None = Field(default=None, description="Prompt or output text (policy decides).")
    model: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The model that served it (OTLP gen_ai.response.model, else request.model).",
    )

    @property
    def writes(self) -> bool:
        """True when the record writes its target."""
        if self.access is not None:
            return self.access == "write"
        return self.kind is ActionKind.privileged_action


class ActionScope(BaseModel):
    """What one system is approved to do, as `check_action` needs it (cached per version)."""

    model_config = ConfigDict(frozen=True)
    system_id: str
    version: int
    state: str
    closed: bool = False
    production: bool = False
    tools: frozenset[str] = frozenset()
    read_targets: frozenset[str] = frozenset()
    write_targets: frozenset[str] = frozenset()
    credentials: dict[str, Environment] = Field(default_factory=dict)
    approvals: frozenset[str] = frozenset()
    content: ContentLogging = ContentLogging.digest
    logged: frozenset[ActionKind] = frozenset(ActionKind)
    model: ModelRef | None = None
    model_names: frozenset[str] = frozenset()  # `runtime_model.accepted_names(model)`


def action_scope(
    system_id: str,
    version: int,
    state: str,
    manifest: AISystemManifest,
    *,
    production: bool,
    closed: bool,
) -> ActionScope:
    """The approved scope of a system from its approved (or, in pilot, declared) manifest."""
    caps = manifest.capabilities
    logging = manifest.logging
    logged = set(ActionKind)
    if logging is not None:
        flags = {
            ActionKind.prompt: logging.prompts,
            ActionKind.output: logging.outputs,
            ActionKind.tool_call: logging.tool_calls,
            ActionKind.privileged_action: logging.privileged_actions,
        }
        logged = {kind for kind, on in flags.items() if on}
    return ActionScope(
        system_id=system_id,
        version=version,
        state=state,
        closed=closed,
        production=production,
        tools=frozenset(caps.tools),
        read_targets=frozenset(caps.read_targets),
        write_targets=frozenset(caps.write_targets),
        credentials={c.id: c.environment for c in manifest.credentials},
        approvals=frozenset(a.lower() for u in manifest.use_cases for a in u.human_approval),
        content=logging.content if logging is not None else ContentLogging.digest,
        logged=frozenset(logged),
        model=manifest.model,
        model_names=accepted_names(manifest.model),
    )


FINDING_CODES = (
    "tool_out_of_scope",
    "target_out_of_scope",
    "credential_not_bound",
    "credential_wrong_environment",
    "missing_human_approval",
    "action_while_contained",
    "environment_not_approved",
    "model_not_approved",
)
_NHI = {"credential_not_bound": "NHI9", "credential_wrong_environment": "NHI8"}


class Finding(BaseModel):
    """One way an action left the approved scope."""

    model_config = ConfigDict(frozen=True)
    code: str
    message: str
    nhi: str | None = None


def _finding(code: str, message: str) -> Finding:
    return Finding(code=code, message=message, nhi=_NHI.get(code))


def check_action(scope: ActionScope, record: ActionRecord) -> list[Finding]:
    """Every way `record` leaves the approved scope (empty: within scope)."""
    found: list[Finding] = []
    if scope.closed:
        found.append(
            _finding("action_while_contained", f"{scope.system_id} acted while {scope.state}")
        )
    elif record.environment is Environment.production and not scope.production:
        found.append(
            _finding(
                "environment_not_approved",
                f"{scope.system_id} acted in production but is not approved for production "
                f"(state: {scope.state}): promote it first",
            )
        )
    if record.model is not None and record.model not in scope.model_names:  # exact: no work
        found += _model_findings(scope, record)
    if record.tool is not None and record.tool not in scope.tools:
        found.append(_finding("tool_out_of_scope", f"tool {record.tool} is not approved"))
    target = record.target
    if target is not None:
        allowed = scope.write_targets if record.writes else scope.read_targets | scope.write_targets
        if target not in allowed and not (record.tool is not None and target == record.tool):
            verb = "write to" if record.writes else "read"
            found.append(_finding("target_out_of_scope", f"{verb} {target} is not approved"))
    found += _credential_findings(scope, record)
    name = (record.action or record.tool or "").lower()
    if name and name in scope.approvals and not record.approved_by:
        found.append(
            _finding(
                "missing_human_approval",
                f"{name} needs a human's approval (its use case says so) and had none",
            )
        )
    return found


def _model_findings(scope: ActionScope, record: ActionRecord) -> list[Finding]:
    """A reported model that is not the one in force (`domain.runtime_model` says which match)."""
    reported, model = record.model, scope.model
    if reported is None or model is None or normal(reported) in scope.model_names:
        return []
    message = model_message(model, reported, production=scope.production)
    return [_finding("model_not_approved", message)]


def _credential_findings(scope: ActionScope, record: ActionRecord) -> list[Finding]:
    credential = record.credential_id
    if credential is None:
        return []
    bound = scope.credentials.get(credential)
    if bound is None:
        return [_finding("credential_not_bound", f"credential {credential} is not bound to it")]
    if bound is not record.environment:
        return [
            _finding(
                "credential_wrong_environment",
                f"{bound.value} credential {credential} used in {record.environment.value}",
            )
        ]
    return []


SECRET_MASK = "[secret value given as credential_id]"
_TEXT_FIELDS = ("tool", "target", "action", "approved_by", "trace_id")


def _hashed_id(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:32]


def mask_secret_credential(scope: ActionScope, record: ActionRecord) -> ActionRecord:
    """A record whose fields hold a secret keeps masks instead (every policy; never the secret).

    credential_id (when not a bound id) becomes `SECRET_MASK` (and is still found:
    `credential_not_bound`); a secret inside tool, target, action, approved_by, trace_id or
    model becomes `[secret]`; a secret id becomes its SHA-256 (so a re-send is still a no-op).
    In ids a 32-hex run is a W3C trace id, not a secret.
    """
    update: dict[str, str] = {}
    credential = record.credential_id
    if credential and credential not in scope.credentials and secret_kind(credential):
        update["credential_id"] = SECRET_MASK
    for name in _TEXT_FIELDS:
        value = getattr(record, name)
        if value and (masked := mask_secrets(value, name == "trace_id")) != value:
            update[name] = masked
    model = record.model  # an approved spelling is manifest text, already known not to be secret
    if model and model not in scope.model_names and (masked := mask_secrets(model)) != model:
        update["model"] = masked
    if record.id and secret_kind(record.id, identifier=True):
        update["id"] = _hashed_id(record.id)
    return record.model_copy(update=update) if update else record


# ----- content kept per the logging policy --------------------------------------------------


def kept_content(
    content: str | None, policy: ContentLogging, logged: bool
) -> tuple[str | None, int | None, str | None]:
    """(SHA-256, length, stored text) of a record's content under the system's policy.

    `digest` keeps the hash and length only; `redacted` also keeps the text with secrets and
    personal data masked (`domain.redaction`); `full` keeps the text with secrets masked (a
    secret is never stored). A kind the policy does not log keeps nothing.
    """
    if content is None or not logged:
        return None, None, None
    digest = hashlib.sha256(content.encode()).hexdigest()
    if policy is ContentLogging.full:
        return digest, len(content), mask_secrets(content)
    if policy is ContentLogging.redacted:
        return digest, len(content), redact(content)
    return digest, len(content), None


def first_of_kind(
    findings: Iterable[tuple[str, str]], known: set[tuple[str, str]]
) -> list[tuple[str, str]]:
    """(system, code) pairs seen for the first time: not `known` and first in `findings`."""
    fresh: list[tuple[str, str]] = []
    seen = set(known)
    for pair in findings:
        if pair not in seen:
            seen.add(pair)
            fresh.append(pair)
    return fresh
