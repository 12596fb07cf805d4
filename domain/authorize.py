"""Authorize before acting: the decision on one action a runtime is about to take.

The rules are `domain.actions.check_action` (the action ledger's), applied before the action
instead of after it: no finding is `allow`; only a missing human approval is
`require_approval`; anything else, or a production scope that cannot be confirmed current, is
`deny`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.actions import (
    ActionKind,
    ActionRecord,
    ActionScope,
    check_action,
    mask_secret_credential,
)
from domain.manifest import SYSTEM_ID_PATTERN, Environment
from domain.redaction import mask_secrets

STALE_REASON = "authorization snapshot stale"


class RuntimeDecision(StrEnum):
    """What the runtime may do."""

    allow = "allow"
    deny = "deny"
    require_approval = "require_approval"


class AuthorizeRequest(BaseModel):
    """One action a runtime is about to take."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    system: str = Field(pattern=SYSTEM_ID_PATTERN, description="The system id.")
    environment: Environment
    tool: str = Field(min_length=1, max_length=200)
    access: Literal["read", "write"]
    target: str | None = Field(default=None, max_length=500)
    action: str | None = Field(
        default=None, max_length=500, description="The action's name, matched to human_approval."
    )
    credential_id: str | None = Field(default=None, max_length=128)
    mcp_server: str | None = Field(default=None, max_length=200)
    mcp_tool: str | None = Field(default=None, max_length=200)
    trace_id: str = Field(default="-", min_length=1, max_length=200)
    privileged: bool = Field(default=False, description="A privilege-bearing action.")
    model: str | None = Field(
        default=None, min_length=1, max_length=200, description="The model about to act."
    )


class Verdict(BaseModel):
    """The decision, why, and the approved version that decided it."""

    model_config = ConfigDict(frozen=True)
    decision: RuntimeDecision
    reasons: list[str]
    codes: list[str] = Field(default_factory=list)
    version: int
    state: str


def as_record(
    request: AuthorizeRequest, at: object, approved_by: str | None = None
) -> ActionRecord:
    """The action record the request would be in the ledger."""
    kind = ActionKind.privileged_action if request.privileged else ActionKind.tool_call
    return ActionRecord.model_validate(
        {
            "system": request.system,
            "environment": request.environment,
            "time": at,
            "kind": kind,
            "trace_id": request.trace_id,
            "tool": request.tool,
            "target": request.target,
            "access": request.access,
            "action": request.action,
            "credential_id": request.credential_id,
            "approved_by": approved_by,
            "model": request.model,
        }
    )


def masked_ask(scope: ActionScope, request: AuthorizeRequest, at: datetime) -> AuthorizeRequest:
    """The request as it may be kept (in an approval's history, Slack, the ledger): a secret in
    any of its fields replaced by the action ledger's masks (`mask_secret_credential`)."""
    record = mask_secret_credential(scope, as_record(request, at))
    kept = {f: getattr(record, f) for f in ("tool", "target", "action", "credential_id")}
    kept |= {"trace_id": record.trace_id, "model": record.model}
    for name in ("mcp_server", "mcp_tool"):
        if value := getattr(request, name):
            kept[name] = mask_secrets(value)
    return request.model_copy(update=kept)


def decide(scope: ActionScope, record: ActionRecord, *, stale: bool) -> Verdict:
    """`check_action` as a decision, naming the scope version and state that decided it."""
    where = f"{scope.system_id} v{scope.version} ({scope.state})"
    if stale and scope.production:
        return Verdict(
            decision=RuntimeDecision.deny,
            reasons=[f"{STALE_REASON}: {where} could not be confirmed current"],
            codes=["snapshot_stale"],
            version=scope.version,
            state=scope.state,
        )
    findings = check_action(scope, record)
    if not findings:
        return Verdict(
            decision=RuntimeDecision.allow,
            reasons=[f"within the approved scope of {where}"],
            version=scope.version,
            state=scope.state,
        )
    codes = [f.code for f in findings]
    decision = (
        RuntimeDecision.require_approval
        if codes == ["missing_human_approval"]
        else RuntimeDecision.deny
    )
    return Verdict(
        decision=decision,
        reasons=[f"{f.message} (approved scope {where})" for f in findings],
        codes=codes,
        version=scope.version,
        state=scope.state,
    )
