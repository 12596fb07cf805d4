"""Scope-change helpers for `AISystemWorkflow`: assessment against the approved scope, gate input.

Pure functions over the workflow's models; the workflow calls them and does the effects.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.approvals import ApprovalRequest, RequestKind
from domain.changes import ChangeAssessment, assess_change
from domain.contracts import SystemView
from domain.lifecycle import DeclaredScope
from domain.manifest import AISystemManifest, Credential
from domain.policy import Policy, Role
from domain.requirements import GovernanceRequirements


def role_holders(manifest: AISystemManifest, policy: Policy, role: Role) -> list[str]:
    """Who may fill a role on this system's requests."""
    if role is Role.business_owner:
        return [str(manifest.business_owner).lower()] if manifest.business_owner else []
    if role is Role.technical_owner:
        return [str(manifest.technical_owner).lower()] if manifest.technical_owner else []
    return policy.members(role.value)


def assess_declared(
    view: SystemView, proposed: AISystemManifest, policy: Policy
) -> ChangeAssessment:
    """Assess a production system's proposed manifest against its approved one.

    The lifecycle state, not the manifest's `environment`, says where an approved system runs,
    so the environment field is never a change here: a repository that keeps declaring
    `environment: pilot` (or `production`) for an approved system records nothing.
    """
    in_force = view.in_force.model_copy(update={"environment": proposed.environment})
    return assess_change(in_force, proposed, policy)


def declared_scope(view: SystemView) -> DeclaredScope | None:
    """What the gate needs about material changes not (yet) approved, or None."""
    change = view.change
    if change is None or not change.material:
        return None
    pending = view.pending_request
    open_id = pending.id if pending and pending.kind is RequestKind.revalidation else None
    return DeclaredScope(
        material=[reason.message for reason in change.reasons],
        request_id=open_id,
        roles=[role.value for role in change.revalidate_roles],
        suspend=change.action == "suspend",
        rejected=view.change_rejected,
    )


def covers(request: ApprovalRequest, assessment: ChangeAssessment) -> bool:
    """True when an open revalidation already asks for exactly these changes and roles."""
    return request.change == [r.message for r in assessment.reasons] and set(
        request.required_roles
    ) == set(assessment.revalidate_roles)


def missing_holders(
    manifest: AISystemManifest, policy: Policy, roles: list[Role]
) -> list[tuple[str, str]]:
    """(field, message) for each required role no one holds."""
    return [
        (f"policy.role_groups.{role.value}", f"no one holds role {role.value}: add members")
        for role in roles
        if not role_holders(manifest, policy, role)
    ]


def next_request_id(view: SystemView) -> str:
    """The id of the system's next approval request: `<system>-<n>`, counting every request."""
    return f"{view.system_id}-{len(view.request_ids) + 1}"


def new_request(
    *,
    request_id: str,
    view: SystemView,
    policy: Policy,
    requester: str,
    kind: RequestKind,
    roles: list[Role],
    summary: str,
    production: GovernanceRequirements,
    now: datetime,
    change: list[str] | None = None,
) -> ApprovalRequest:
    """An approval request with the policy's timings and each role's holders."""
    timings = policy.approvals
    owners = view.in_force
    escalate_at = now + timedelta(hours=timings.escalate_after_hours)
    remind_at = escalate_at - timedelta(hours=timings.remind_before_escalation_hours)
    return ApprovalRequest(
        id=request_id,
        system_id=view.system_id,
        kind=kind,
        summary=summary,
        requester=requester.lower(),
        required_roles=roles,
        eligible={role: role_holders(owners, policy, role) for role in roles},
        risk_tier=production.risk_tier.value,
        why=[t.reason for t in production.triggers],
        fallback=policy.members(timings.fallback_group),
        opened_at=now,
        escalate_at=escalate_at,
        expires_at=now + timedelta(hours=timings.expire_after_hours),
        remind_at=remind_at if now < remind_at < escalate_at else None,
        change=change or [],
    )


def bound_credentials(view: SystemView) -> list[Credential]:
    """Every credential the system declares or was approved with (by id, declared first)."""
    found: dict[str, Credential] = {c.id: c for c in view.manifest.credentials}
    if view.approved_manifest is not None:
        for credential in view.approved_manifest.credentials:
            found.setdefault(credential.id, credential)
    return list(found.values())
