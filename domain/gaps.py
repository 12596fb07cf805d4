"""Blocking gaps: what a system lacks before production governance can be satisfied."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from domain.manifest import AISystemManifest, Autonomy, Credential, Environment
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
        gaps += _credential_gaps(
            system, credential, f"credentials[{index}]", policy, now, shared_credentials
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
                code="pilot_credential_in_production",
                field=f"{field}.environment",
                message=f"credential {name} is a pilot credential bound for production: issue a "
                "separate production credential",
            )
        )
    if credential.owner is None:
        gaps.append(
            Gap(
                code="credential_without_owner",
                field=f"{field}.owner",
                message=f"credential {name} has no owner: name who answers for it",
            )
        )
    if credential.expires_at is None:
        gaps.append(
            Gap(
                code="credential_without_expiry",
                field=f"{field}.expires_at",
                message=f"credential {name} never expires: set expires_at",
            )
        )
    elif credential.expires_at <= now:
        gaps.append(
            Gap(
                code="credential_expired",
                field=f"{field}.expires_at",
                message=f"credential {name} expired on {credential.expires_at:%Y-%m-%d}: rotate it",
            )
        )
    elif credential.expires_at - now > timedelta(days=policy.credentials.max_age_days):
        gaps.append(
            Gap(
                code="credential_too_long_lived",
                field=f"{field}.expires_at",
                message=f"credential {name} lives longer than {policy.credentials.max_age_days} "
                "days: shorten it",
            )
        )
    others = [s for s in shared_credentials.get(name, []) if s != system.id]
    if others:
        gaps.append(
            Gap(
                code="shared_credential",
                field=f"{field}.id",
                message=f"credential {name} is shared with {', '.join(sorted(others))}: give "
                "each system its own",
            )
        )
    return gaps
