"""Registration as a pure function, shared by the API (answers at once) and the workflow."""

from __future__ import annotations

from datetime import datetime

from domain.classification import classify, classify_for_production
from domain.contracts import RegisterCommand, SystemView
from domain.errors import InvalidInput, Problem
from domain.lifecycle import LifecycleState
from domain.manifest import AISystemManifest
from domain.policy import Policy
from domain.requirements import GovernanceRequirements


def registration_problems(
    manifest: AISystemManifest,
    policy: Policy,
    now: datetime,
    requirements: GovernanceRequirements | None = None,
) -> list[Problem]:
    """Owners are required up front once production governance applies.

    `requirements`: the manifest's classification if already made (with any credential
    sharing: whether governance applies and the owner gaps do not depend on it).
    """
    requirements = requirements or classify(manifest, policy, now=now)
    if not requirements.applies:
        return []
    return [
        Problem(gap.field, f"missing: {gap.message}")
        for gap in requirements.gaps
        if gap.code in {"no_business_owner", "no_technical_owner"}
    ]


def check_registration(
    system_id: str,
    manifest: AISystemManifest,
    policy: Policy,
    now: datetime,
    requirements: GovernanceRequirements | None = None,
) -> None:
    """Refuse a manifest that cannot be registered as `system_id`, naming every field."""
    if manifest.id != system_id:
        raise InvalidInput(
            f"manifest id {manifest.id!r} does not match system {system_id!r}",
            [Problem("id", f"use {system_id!r} or register a new system")],
        )
    problems = registration_problems(manifest, policy, now, requirements)
    if problems:
        why = ", ".join(t.reason for t in classify(manifest, policy, now=now).triggers)
        fields = " and ".join(p.field for p in problems)
        raise InvalidInput(
            f"cannot register {manifest.id} without {fields}: production governance applies "
            f"({why})",
            problems,
        )


def registered_view(cmd: RegisterCommand, now: datetime) -> tuple[SystemView, str]:
    """The system as registration leaves it (in pilot, version 1) and the message to show."""
    manifest, policy, shared = cmd.manifest, cmd.policy, cmd.shared_credentials
    view = SystemView(
        system_id=manifest.id,
        state=LifecycleState.pilot,
        manifest=manifest,
        requirements=classify(manifest, policy, now=now, shared_credentials=shared),
        production_requirements=classify_for_production(
            manifest, policy, now=now, shared_credentials=shared
        ),
        registered_at=now,
        updated_at=now,
        version=1,
    )
    return view, f"registered {manifest.id}; it is in pilot"
