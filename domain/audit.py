"""Audit ledger actions: one enum, each action in one evidence-pack section.

Every audit event names an `AuditAction`. Governance actions are evidence: each sits in a
pack section here and supports controls in `domain.crosswalk.EVIDENCE`. Operational actions
(a delivery that failed, a withdraw that could not run) are recorded so a person can see and
fix them; they support no control and land in the pack's `operations` section.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class AuditAction(StrEnum):
    """What an audit ledger entry records (the ledger stores the value)."""

    # lifecycle
    registered = "registered"
    entered_pilot = "entered_pilot"
    entered_production = "entered_production"
    production_governance_applies = "production_governance_applies"
    # promotion and approval requests
    promotion_requested = "promotion_requested"
    promotion_approved = "promotion_approved"
    promotion_rejected = "promotion_rejected"
    promotion_expired = "promotion_expired"
    promotion_withdrawn = "promotion_withdrawn"
    decision_approved = "decision_approved"
    decision_rejected = "decision_rejected"
    approval_reminder = "approval_reminder"
    approval_escalated = "approval_escalated"
    approval_expired = "approval_expired"
    request_withdrawn = "request_withdrawn"
    ticket_opened = "ticket_opened"
    # changes and revalidation
    manifest_amended = "manifest_amended"
    scope_changed = "scope_changed"
    scope_change_assessed = "scope_change_assessed"
    revalidation_requested = "revalidation_requested"
    revalidation_approved = "revalidation_approved"
    revalidation_rejected = "revalidation_rejected"
    revalidation_expired = "revalidation_expired"
    revalidation_withdrawn = "revalidation_withdrawn"
    revalidation_folded = "revalidation_folded"
    # recertification
    recertification_scheduled = "recertification_scheduled"
    recertification_rescheduled = "recertification_rescheduled"
    recertification_reminder = "recertification_reminder"
    recertification_requested = "recertification_requested"
    recertified = "recertified"
    recertification_rejected = "recertification_rejected"
    recertification_expired = "recertification_expired"
    recertification_withdrawn = "recertification_withdrawn"
    recertification_overdue = "recertification_overdue"
    recertification_escalated = "recertification_escalated"
    recertification_ticket_opened = "recertification_ticket_opened"
    recertification_ticket_closed = "recertification_ticket_closed"
    overdue_gate_closed = "overdue_gate_closed"
    # exceptions
    exception_requested = "exception_requested"
    exception_granted = "exception_granted"
    exception_rejected = "exception_rejected"
    exception_expired = "exception_expired"
    exception_revoked = "exception_revoked"
    exception_gate_closed = "exception_gate_closed"
    exception_ticket_opened = "exception_ticket_opened"
    # credentials
    credential_added = "credential_added"
    credential_rotated = "credential_rotated"
    credential_revoked = "credential_revoked"
    credential_revocation_requested = "credential_revocation_requested"
    credential_revocation_confirmed = "credential_revocation_confirmed"
    credential_revocation_failed = "credential_revocation_failed"
    # action ledger
    action_finding = "action_finding"
    # containment and retirement
    contained = "contained"
    release_requested = "release_requested"
    released = "released"
    release_rejected = "release_rejected"
    release_expired = "release_expired"
    release_withdrawn = "release_withdrawn"
    retired = "retired"
    # operational: deliveries and housekeeping that failed (no control)
    notification_failed = "notification_failed"
    slack_delivery_failed = "slack_delivery_failed"
    withdraw_failed = "withdraw_failed"
    ticket_transition_failed = "ticket_transition_failed"


class EvidenceSection(StrEnum):
    """A section of a system's evidence pack."""

    recertifications = "recertifications"
    exceptions = "exceptions"
    credentials = "credentials"
    findings = "findings"
    containment = "containment"
    changes = "changes"
    approvals = "approvals"
    lifecycle = "lifecycle"
    operations = "operations"


A, S = AuditAction, EvidenceSection
_MEMBERS: Mapping[EvidenceSection, tuple[AuditAction, ...]] = {
    S.lifecycle: (
        A.registered,
        A.entered_pilot,
        A.entered_production,
        A.production_governance_applies,
    ),
    S.approvals: (
        A.promotion_requested,
        A.promotion_approved,
        A.promotion_rejected,
        A.promotion_expired,
        A.promotion_withdrawn,
        A.decision_approved,
        A.decision_rejected,
        A.approval_reminder,
        A.approval_escalated,
        A.approval_expired,
        A.request_withdrawn,
        A.ticket_opened,
    ),
    S.changes: (
        A.manifest_amended,
        A.scope_changed,
        A.scope_change_assessed,
        A.revalidation_requested,
        A.revalidation_approved,
        A.revalidation_rejected,
        A.revalidation_expired,
        A.revalidation_withdrawn,
        A.revalidation_folded,
    ),
    S.recertifications: (
        A.recertification_scheduled,
        A.recertification_rescheduled,
        A.recertification_reminder,
        A.recertification_requested,
        A.recertified,
        A.recertification_rejected,
        A.recertification_expired,
        A.recertification_withdrawn,
        A.recertification_overdue,
        A.recertification_escalated,
        A.recertification_ticket_opened,
        A.recertification_ticket_closed,
        A.overdue_gate_closed,
    ),
    S.exceptions: (
        A.exception_requested,
        A.exception_granted,
        A.exception_rejected,
        A.exception_expired,
        A.exception_revoked,
        A.exception_gate_closed,
        A.exception_ticket_opened,
    ),
    S.credentials: (
        A.credential_added,
        A.credential_rotated,
        A.credential_revoked,
        A.credential_revocation_requested,
        A.credential_revocation_confirmed,
        A.credential_revocation_failed,
    ),
    S.findings: (A.action_finding,),
    S.containment: (
        A.contained,
        A.release_requested,
        A.released,
        A.release_rejected,
        A.release_expired,
        A.release_withdrawn,
        A.retired,
    ),
    S.operations: (
        A.notification_failed,
        A.slack_delivery_failed,
        A.withdraw_failed,
        A.ticket_transition_failed,
    ),
}
SECTION: Mapping[AuditAction, EvidenceSection] = {
    action: section for section, actions in _MEMBERS.items() for action in actions
}
OPERATIONAL: frozenset[AuditAction] = frozenset(_MEMBERS[S.operations])


def section_for(action: str) -> EvidenceSection:
    """The pack section of an action; `operations` for one this code does not know."""
    try:
        return SECTION[AuditAction(action)]
    except ValueError:
        return EvidenceSection.operations


def audit_action(prefix: str, outcome: str) -> AuditAction:
    """The action `<prefix>_<outcome>` (e.g. promotion + rejected); ValueError if there is none."""
    return AuditAction(f"{prefix}_{outcome}")
