"""`assess_change`: is a change to an approved system material, why, and who must revalidate.

Every difference between the approved and the proposed manifest becomes a `ChangeReason`
with a code. Codes the policy lists under `changes.revalidate` (and not under
`changes.immaterial`) are material and name the roles that revalidate them; narrowing codes
(`RECORDED_CODES`) and immaterial ones are only recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import InvalidInput, Problem
from domain.manifest import (
    AISystemManifest,
    Autonomy,
    ContentLogging,
    Credential,
    DataClassification,
    Environment,
    LoggingPolicy,
    ModelRef,
    UseCase,
)
from domain.mcp import mcp_differences
from domain.policy import Policy, Role

AUTONOMY_ORDER = (Autonomy.suggest_only, Autonomy.human_in_the_loop, Autonomy.autonomous)
CLASSIFICATION_ORDER = (
    DataClassification.public,
    DataClassification.internal,
    DataClassification.confidential,
    DataClassification.regulated,
)

RECORDED_CODES = frozenset(
    {
        "read_target_removed",
        "write_access_removed",
        "tool_removed",
        "automated_decisions_removed",
        "downstream_automation_removed",
        "less_autonomy",
        "data_classification_lowered",
        "no_longer_customer_facing",
        "now_synthetic_only",
        "environment_lowered",
        "credential_removed",
        "credential_narrowed",
        "use_case_removed",
        "use_case_narrowed",
        "logging_changed",
        "name_changed",
        "description_changed",
    }
)
"""Narrowing or cosmetic change codes: recorded in the ledger, never material."""


class ChangeReason(BaseModel):
    """One difference between the approved and the proposed manifest."""

    model_config = ConfigDict(frozen=True)
    code: str
    field: str = Field(description="The manifest field that changed, e.g. capabilities.tools.")
    message: str = Field(description="What changed, e.g. 'new write access: crm.accounts'.")
    roles: list[Role] = Field(
        default_factory=list, description="Roles that revalidate it (empty when only recorded)."
    )


class ChangeAssessment(BaseModel):
    """Whether a change is material, why, and who must revalidate it."""

    model_config = ConfigDict(frozen=True)
    material: bool
    reasons: list[ChangeReason] = Field(description="The material changes, with their roles.")
    revalidate_roles: list[Role] = Field(description="Every role that must revalidate.")
    recorded_only: list[ChangeReason] = Field(description="Changes recorded without approval.")
    action: Literal["none", "record", "revalidate", "suspend"] = Field(
        description="none: nothing changed; record: only recorded; otherwise the policy's "
        "changes.on_material_change."
    )
    summary: str


def assess_change(
    approved: AISystemManifest, proposed: AISystemManifest, policy: Policy
) -> ChangeAssessment:
    """Judge the proposed manifest against the approved one under the policy's change rules."""
    if approved.id != proposed.id:
        raise InvalidInput(
            f"cannot compare {approved.id} with {proposed.id}",
            [Problem("id", f"{proposed.id!r} is not {approved.id!r}: compare one system")],
        )
    reasons: list[ChangeReason] = []
    recorded: list[ChangeReason] = []
    for change in _differences(approved, proposed):
        roles = policy.changes.roles_for(change.code)
        if roles is None:
            recorded.append(change)
        else:
            reasons.append(change.model_copy(update={"roles": list(roles)}))
    needed = {role for reason in reasons for role in reason.roles}
    revalidate = [role for role in Role if role in needed]
    action: Literal["none", "record", "revalidate", "suspend"]
    action = policy.changes.on_material_change if reasons else "record" if recorded else "none"
    return ChangeAssessment(
        material=bool(reasons),
        reasons=reasons,
        revalidate_roles=revalidate,
        recorded_only=recorded,
        action=action,
        summary=_summary(reasons, recorded, revalidate, action),
    )


def scope_diff(approved: AISystemManifest, proposed: AISystemManifest) -> list[str]:
    """Every difference, in words, material or not (e.g. 'new tool: refund')."""
    return [change.message for change in _differences(approved, proposed)]


def _summary(
    reasons: list[ChangeReason], recorded: list[ChangeReason], roles: list[Role], action: str
) -> str:
    if not reasons and not recorded:
        return "no change to the declared scope"
    if not reasons:
        return "no material change; recorded: " + "; ".join(r.message for r in recorded)
    what = "; ".join(r.message for r in reasons)
    who = ", ".join(role.value for role in roles)
    if action == "suspend":
        return f"material change ({what}): suspended until revalidated by {who}"
    return f"material change ({what}): revalidation by {who}"


# --- differences -----------------------------------------------------------------------------

Compare = Callable[[AISystemManifest, AISystemManifest], Iterable[ChangeReason]]


def _differences(approved: AISystemManifest, proposed: AISystemManifest) -> list[ChangeReason]:
    checks: tuple[Compare, ...] = (
        _capabilities,
        _mcp,
        _data,
        _exposure,
        _model,
        _owners,
        _credentials,
        _use_cases,
        _logging,
        _text,
    )
    return [reason for check in checks for reason in check(approved, proposed)]


# (Capabilities field, code when gained, code when lost, how the items are named)
_CAPABILITIES = (
    ("write_targets", "new_write_access", "write_access_removed", "write access"),
    ("tools", "new_tool", "tool_removed", "tool"),
    ("read_targets", "new_read_target", "read_target_removed", "read target"),
    (
        "automated_decisions",
        "new_automated_decisions",
        "automated_decisions_removed",
        "automated decisions",
    ),
    (
        "downstream_automation",
        "new_downstream_automation",
        "downstream_automation_removed",
        "downstream automation",
    ),
)


def _capabilities(approved: AISystemManifest, proposed: AISystemManifest) -> list[ChangeReason]:
    found: list[ChangeReason] = []
    for field, gained_code, lost_code, noun in _CAPABILITIES:
        before: list[str] = getattr(approved.capabilities, field)
        after: list[str] = getattr(proposed.capabilities, field)
        path = f"capabilities.{field}"
        gained = [item for item in after if item not in before]
        lost = [item for item in before if item not in after]
        if gained:
            found.append(
                ChangeReason(
                    code=gained_code, field=path, message=f"new {noun}: " + ", ".join(gained)
                )
            )
        if lost:
            found.append(
                ChangeReason(
                    code=lost_code, field=path, message=f"{noun} removed: " + ", ".join(lost)
                )
            )
    return found


def _mcp(approved: AISystemManifest, proposed: AISystemManifest) -> list[ChangeReason]:
    return [
        _reason(code, "mcp_servers", message)
        for code, message in mcp_differences(approved.mcp_servers, proposed.mcp_servers)
    ]


def _data(approved: AISystemManifest, proposed: AISystemManifest) -> list[ChangeReason]:
    found: list[ChangeReason] = []
    before, after = approved.data_classification, proposed.data_classification
    rise = CLASSIFICATION_ORDER.index(after) - CLASSIFICATION_ORDER.index(before)
    moved = f"{before.value} → {after.value}"
    if rise > 0 and after is DataClassification.regulated:
        found.append(_reason("regulated_data", "data_classification", f"now regulated: {moved}"))
    elif rise > 0:
        found.append(
            _reason("data_classification_raised", "data_classification", f"data raised: {moved}")
        )
    elif rise < 0:
        found.append(
            _reason("data_classification_lowered", "data_classification", f"data lowered: {moved}")
        )
    if approved.synthetic_data_only and not proposed.synthetic_data_only:
        found.append(
            _reason("synthetic_data_dropped", "synthetic_data_only", "no longer synthetic-only")
        )
    elif proposed.synthetic_data_only and not approved.synthetic_data_only:
        found.append(_reason("now_synthetic_only", "synthetic_data_only", "now synthetic-only"))
    return found


def _exposure(approved: AISystemManifest, proposed: AISystemManifest) -> list[ChangeReason]:
    found: list[ChangeReason] = []
    rise = AUTONOMY_ORDER.index(proposed.autonomy) - AUTONOMY_ORDER.index(approved.autonomy)
    moved = f"{approved.autonomy.value} → {proposed.autonomy.value}"
    if rise:
        code = "more_autonomy" if rise > 0 else "less_autonomy"
        found.append(_reason(code, "autonomy", f"autonomy {moved}"))
    if proposed.customer_facing != approved.customer_facing:
        code, text = (
            ("now_customer_facing", "now customer-facing")
            if proposed.customer_facing
            else ("no_longer_customer_facing", "no longer customer-facing")
        )
        found.append(_reason(code, "customer_facing", text))
    if proposed.environment != approved.environment:
        code = (
            "now_production"
            if proposed.environment is Environment.production
            else "environment_lowered"
        )
        text = f"environment {approved.environment.value} → {proposed.environment.value}"
        found.append(_reason(code, "environment", text))
    return found


def _model(approved: AISystemManifest, proposed: AISystemManifest) -> list[ChangeReason]:
    before, after = approved.model, proposed.model
    if (before.provider, before.name) != (after.provider, after.name):
        return [_reason("model_swap", "model", f"model swapped: {_ref(before)} → {_ref(after)}")]
    if before.version != after.version:
        text = f"model version: {after.name} {before.version} → {after.version}"
        return [_reason("model_version", "model.version", text)]
    return []


def _ref(model: ModelRef) -> str:
    return f"{model.provider}/{model.name} {model.version}"


def _owners(approved: AISystemManifest, proposed: AISystemManifest) -> list[ChangeReason]:
    found: list[ChangeReason] = []
    for field in ("business_owner", "technical_owner"):
        before: str | None = getattr(approved, field)
        after: str | None = getattr(proposed, field)
        if (before or "").lower() != (after or "").lower():
            noun = field.replace("_", " ")
            text = f"{noun} changed: {before or 'none'} → {after or 'none'}"
            found.append(_reason("owner_changed", field, text))
    return found


def _reason(code: str, field: str, message: str) -> ChangeReason:
    return ChangeReason(code=code, field=field, message=message)


def _credentials(approved: AISystemManifest, proposed: AISystemManifest) -> list[ChangeReason]:
    before = {credential.id: credential for credential in approved.credentials}
    after = {credential.id: credential for credential in proposed.credentials}
    found: list[ChangeReason] = []
    if added := [cid for cid in after if cid not in before]:
        found.append(
            _reason("new_credential", "credentials", "new credential: " + ", ".join(added))
        )
    for index, credential in enumerate(proposed.credentials):
        old = before.get(credential.id)
        if old is not None and old != credential:
            found.append(_credential_change(old, credential, f"credentials[{index}]"))
    if removed := [cid for cid in before if cid not in after]:
        text = "credential removed: " + ", ".join(removed)
        found.append(_reason("credential_removed", "credentials", text))
    return found


def _credential_change(old: Credential, new: Credential, field: str) -> ChangeReason:
    widened = [f"scope {scope}" for scope in new.scopes if scope not in old.scopes]
    if new.kind != old.kind:
        widened.append(f"kind {old.kind.value} → {new.kind.value}")
    if old.environment is Environment.pilot and new.environment is Environment.production:
        widened.append("environment pilot → production")
    if widened:
        return _reason(
            "credential_widened", field, f"credential {new.id} widened: " + ", ".join(widened)
        )
    lost = [scope for scope in old.scopes if scope not in new.scopes]
    rest = [
        name
        for name in ("vault_ref", "expires_at", "owner", "environment")
        if getattr(old, name) != getattr(new, name)
    ]
    if lost and not rest:
        return _reason(
            "credential_narrowed",
            field,
            f"credential {new.id} narrowed: "
            + ", ".join(f"scope {scope} removed" for scope in lost),
        )
    changed = ", ".join(rest + (["scopes"] if lost else []))
    return _reason("credential_rotated", field, f"credential {new.id} rotated ({changed})")


def _use_cases(approved: AISystemManifest, proposed: AISystemManifest) -> list[ChangeReason]:
    before = {use.name: use for use in approved.use_cases}
    after = {use.name: use for use in proposed.use_cases}
    found: list[ChangeReason] = []
    if added := [name for name in after if name not in before]:
        found.append(_reason("new_use_case", "use_cases", "new use case: " + ", ".join(added)))
    for index, use in enumerate(proposed.use_cases):
        old = before.get(use.name)
        if old is not None and old != use:
            found.append(_use_case_change(old, use, f"use_cases[{index}]"))
    if removed := [name for name in before if name not in after]:
        text = "use case removed: " + ", ".join(removed)
        found.append(_reason("use_case_removed", "use_cases", text))
    return found


def _use_case_change(old: UseCase, new: UseCase, field: str) -> ChangeReason:
    widened = [
        f"human approval dropped: {a}" for a in old.human_approval if a not in new.human_approval
    ]
    if new.purpose != old.purpose:
        widened.insert(0, f"purpose now: {new.purpose}")
    if new.affects_real_decisions and not old.affects_real_decisions:
        widened.append("now affects real decisions")
    if widened:
        return _reason(
            "use_case_changed", field, f"use case {new.name} changed: " + "; ".join(widened)
        )
    narrowed = [
        f"human approval added: {a}" for a in new.human_approval if a not in old.human_approval
    ]
    if old.affects_real_decisions and not new.affects_real_decisions:
        narrowed.append("no longer affects real decisions")
    text = "; ".join(narrowed) or "human approval reordered"
    return _reason("use_case_narrowed", field, f"use case {new.name} narrowed: {text}")


_LOGGED = ("prompts", "outputs", "tool_calls", "privileged_actions")
_CONTENT_ORDER = (ContentLogging.digest, ContentLogging.redacted, ContentLogging.full)


def _logging(approved: AISystemManifest, proposed: AISystemManifest) -> list[ChangeReason]:
    old, new = approved.logging, proposed.logging
    if old == new:
        return []
    if new is None:
        return [_reason("logging_reduced", "logging", "logging policy removed")]
    if old is None:
        return [_reason("logging_changed", "logging", "logging policy added")]
    reduced = [
        f"{name} no longer logged"
        for name in _LOGGED
        if getattr(old, name) and not getattr(new, name)
    ]
    if new.retention_days < old.retention_days:
        reduced.append(f"retention {old.retention_days} → {new.retention_days} days")
    if reduced:
        return [_reason("logging_reduced", "logging", "logging reduced: " + "; ".join(reduced))]
    return [_reason("logging_changed", "logging", "logging changed: " + _logging_delta(old, new))]


def _logging_delta(old: LoggingPolicy, new: LoggingPolicy) -> str:
    parts = [
        f"{name} now logged" for name in _LOGGED if getattr(new, name) and not getattr(old, name)
    ]
    if new.content != old.content:
        parts.append(f"content {old.content.value} → {new.content.value}")
    if new.retention_days > old.retention_days:
        parts.append(f"retention {old.retention_days} → {new.retention_days} days")
    return "; ".join(parts)


def _text(approved: AISystemManifest, proposed: AISystemManifest) -> list[ChangeReason]:
    found: list[ChangeReason] = []
    if approved.name != proposed.name:
        found.append(_reason("name_changed", "name", f"name: {approved.name} → {proposed.name}"))
    if approved.description != proposed.description:
        found.append(_reason("description_changed", "description", "description changed"))
    return found
