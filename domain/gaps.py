"""Blocking gaps: what a system lacks before production governance can be satisfied."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from domain.manifest import AISystemManifest, Autonomy, Capabilities, Credential, Environment
from domain.policy import Policy, Role
from domain.requirements import Gap


def find_gaps(
    system: AISystemManifest,
    policy: Policy,
    roles: Sequence[Role],
    *,
    now: datetime,
    shared_credentials: Mapping[str, Sequence[str]],
) -> list[Gap]:
    """Every gap, each naming the manifest field to fix."""
    gaps = _ownership_gaps(system, roles) + _documentation_gaps(system)
    for index, credential in enumerate(system.credentials):
        field = f"credentials[{index}]"
        gaps += _credential_gaps(system, credential, field, policy, now, shared_credentials)
        gaps += _scope_gaps(credential, field, system.capabilities)
    gaps += _separation_gaps(system)
    return gaps


NHI = {
    "credential_without_owner": "NHI1",
    "credential_overprivileged": "NHI5",
    "credential_without_expiry": "NHI7",
    "credential_expired": "NHI7",
    "credential_too_long_lived": "NHI7",
    "credential_not_rotated": "NHI7",
    "pilot_credential_in_production": "NHI8",
    "production_credential_not_distinct": "NHI8",
    "shared_credential": "NHI9",
}
"""OWASP Non-Human Identity Top 10 (2025) id of each credential gap."""

WRITE_PERMISSIONS = frozenset({"write", "delete", "update", "create", "manage", "modify"})
BROAD_PERMISSIONS = frozenset({"*", "admin", "all", "root", "owner", "full", "superuser"})


def _nhi_gap(code: str, field: str, message: str) -> Gap:
    return Gap(code=code, field=field, message=message, nhi=NHI[code])


def overprivileged_scopes(credential: Credential, capabilities: Capabilities) -> list[str]:
    """Scopes broader than the approved capabilities: wildcards and admin rights, or write
    rights (`target:write`, `:delete`, ...) on a target the system may not write."""
    writable = set(capabilities.write_targets) | set(capabilities.tools)
    broad: list[str] = []
    for scope in credential.scopes:
        resource, _, permission = scope.partition(":")
        permission = permission.lower()
        wildcard = "*" in scope or BROAD_PERMISSIONS & {permission, resource.lower()}
        if wildcard or (permission in WRITE_PERMISSIONS and resource not in writable):
            broad.append(scope)
    return broad


def _scope_gaps(credential: Credential, field: str, capabilities: Capabilities) -> list[Gap]:
    broad = overprivileged_scopes(credential, capabilities)
    if not broad:
        return []
    return [
        _nhi_gap(
            "credential_overprivileged",
            f"{field}.scopes",
            f"credential {credential.id} has scopes broader than the approved capabilities "
            f"({', '.join(broad)}): narrow them to the targets and tools the system may use",
        )
    ]


def _separation_gaps(system: AISystemManifest) -> list[Gap]:
    """Production credentials must be distinct from pilot ones (not the same secret)."""
    pilot = {c.vault_ref: c.id for c in system.credentials if c.environment is Environment.pilot}
    gaps: list[Gap] = []
    for index, credential in enumerate(system.credentials):
        twin = pilot.get(credential.vault_ref)
        if credential.environment is Environment.production and twin is not None:
            gaps.append(
                _nhi_gap(
                    "production_credential_not_distinct",
                    f"credentials[{index}].vault_ref",
                    f"production credential {credential.id} uses the same secret as pilot "
                    f"credential {twin} ({credential.vault_ref}): issue a separate production "
                    "secret",
                )
            )
    return gaps


def _ownership_gaps(system: AISystemManifest, roles: Sequence[Role]) -> list[Gap]:
    gaps: list[Gap] = []
    if system.business_owner is None:
        gaps.append(
            Gap(
                code="no_business_owner",
                field="business_owner",
                message="no business owner: name the accountable business owner (an email)",
            )
        )
    if system.technical_owner is None:
        gaps.append(
            Gap(
                code="no_technical_owner",
                field="technical_owner",
                message="no technical owner: name the engineer who owns it (an email)",
            )
        )
    both = Role.business_owner in roles and Role.technical_owner in roles
    same = (
        system.business_owner is not None
        and system.technical_owner is not None
        and system.business_owner.lower() == system.technical_owner.lower()
    )
    if both and same:
        gaps.append(
            Gap(
                code="owners_not_distinct",
                field="technical_owner",
                message="business and technical owner are the same person; approvals need two",
            )
        )
    return gaps


def _documentation_gaps(system: AISystemManifest) -> list[Gap]:
    gaps: list[Gap] = []
    if not system.use_cases:
        gaps.append(
            Gap(
                code="no_use_case",
                field="use_cases",
                message="no documented use case: add at least one with its purpose",
            )
        )
    logging = system.logging
    caps = system.capabilities
    if logging is None:
        gaps.append(
            Gap(
                code="no_logging_policy",
                field="logging",
                message="no logging policy: say what is logged (prompts, outputs, tool calls, "
                "privileged actions)",
            )
        )
    elif (caps.tools and not logging.tool_calls) or (
        caps.write_targets and not logging.privileged_actions
    ):
        gaps.append(
            Gap(
                code="no_logging_policy",
                field="logging",
                message="the logging policy omits tool calls or privileged actions this "
                "system performs",
            )
        )
    if system.autonomy is Autonomy.autonomous and not any(
        u.human_approval for u in system.use_cases
    ):
        gaps.append(
            Gap(
                code="human_approval_undefined",
                field="use_cases",
                message="autonomous system with no human-approval points: list, per use case, "
                "the actions a human must approve (human_approval)",
            )
        )
    return gaps


def _credential_gaps(
    system: AISystemManifest,
    credential: Credential,
    field: str,
    policy: Policy,
    now: datetime,
    shared_credentials: Mapping[str, Sequence[str]],
) -> list[Gap]:
    gaps: list[Gap] = []
    name = credential.id
    if system.environment is Environment.production and credential.environment is Environment.pilot:
        gaps.append(
            Gap(
                nhi=NHI["pilot_credential_in_production"],
                code="pilot_credential_in_production",
                field=f"{field}.environment",
                message=f"credential {name} is a pilot credential bound for production: issue a "
                "separate production credential",
            )
        )
    if credential.owner is None:
        gaps.append(
            Gap(
                nhi=NHI["credential_without_owner"],
                code="credential_without_owner",
                field=f"{field}.owner",
                message=f"credential {name} has no owner: name who answers for it",
            )
        )
    gaps += _lifetime_gaps(credential, field, policy, now)
    others = [s for s in shared_credentials.get(name, []) if s != system.id]
    if others:
        gaps.append(
            Gap(
                nhi=NHI["shared_credential"],
                code="shared_credential",
                field=f"{field}.id",
                message=f"credential {name} is shared with {', '.join(sorted(others))}: give "
                "each system its own",
            )
        )
    return gaps


def _lifetime_gaps(credential: Credential, field: str, policy: Policy, now: datetime) -> list[Gap]:
    """NHI7: no expiry or rotation period, expired, too long-lived, or overdue for rotation."""
    gaps: list[Gap] = []
    name = credential.id
    if credential.expires_at is None and credential.rotation_days is None:
        gaps.append(
            Gap(
                nhi=NHI["credential_without_expiry"],
                code="credential_without_expiry",
                field=f"{field}.expires_at",
                message=f"credential {name} never expires: set expires_at or rotation_days",
            )
        )
    elif credential.expires_at is not None and credential.expires_at <= now:
        gaps.append(
            Gap(
                nhi=NHI["credential_expired"],
                code="credential_expired",
                field=f"{field}.expires_at",
                message=f"credential {name} expired on {credential.expires_at:%Y-%m-%d}: rotate it",
            )
        )
    elif credential.expires_at is not None and credential.expires_at - now > timedelta(
        days=policy.credentials.max_age_days
    ):
        gaps.append(
            Gap(
                nhi=NHI["credential_too_long_lived"],
                code="credential_too_long_lived",
                field=f"{field}.expires_at",
                message=f"credential {name} lives longer than {policy.credentials.max_age_days} "
                "days: shorten it",
            )
        )
    since = credential.last_rotated_at or credential.created_at
    limit = min(
        credential.rotation_days or policy.credentials.max_age_days, policy.credentials.max_age_days
    )
    if since is not None and now - since > timedelta(days=limit):
        gaps.append(
            _nhi_gap(
                "credential_not_rotated",
                f"{field}.last_rotated_at",
                f"credential {name} was last rotated {since:%Y-%m-%d}, more than {limit} days "
                "ago: rotate it",
            )
        )
    return gaps
