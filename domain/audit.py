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
    # just-in-time action approvals (authorize → require_approval)
    action_approval_requested = "action_approval_requested"
    action_approval_approved = "action_approval_approved"
    action_approval_rejected = "action_approval_rejected"
    action_approval_expired = "action_approval_expired"
    action_approval_withdrawn = "action_approval_withdrawn"
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
    credential_dormant = "credential_dormant"
    system_dormant = "system_dormant"
    dormancy_ticket_opened = "dormancy_ticket_opened"
    dormancy_ticket_closed = "dormancy_ticket_closed"
    # action ledger
    action_finding = "action_finding"
    finding_acknowledged = "finding_acknowledged"
    # containment and retirement
    contained = "contained"
    release_requested = "release_requested"
    released = "released"
    release_rejected = "release_rejected"
    release_expired = "release_expired"
    release_withdrawn = "release_withdrawn"
    retired = "retired"
    # the ledger itself
    ledger_entry_erased = "ledger_entry_erased"
    # operational: deliveries and housekeeping that failed (no control)
    notification_failed = "notification_failed"
    slack_delivery_failed = "slack_delivery_failed"
    withdraw_failed = "withdraw_failed"
    ticket_transition_failed = "ticket_transition_failed"
    request_start_failed = "request_start_failed"
    system_not_told = "system_not_told"
    # the API's door (chain `threshold:security`, not a system's)
    auth_throttled = "auth_throttled"
    otlp_spans_unmatched = "otlp_spans_unmatched"


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
    ledger = "ledger"
    operations = "operations"


_A, _S = AuditAction, EvidenceSection
_MEMBERS: Mapping[EvidenceSection, tuple[AuditAction, ...]] = {
    _S.lifecycle: (
        _A.registered,
        _A.entered_pilot,
        _A.entered_production,
        _A.production_governance_applies,
    ),
    _S.approvals: (
        _A.promotion_requested,
        _A.promotion_approved,
        _A.promotion_rejected,
        _A.promotion_expired,
        _A.promotion_withdrawn,
        _A.decision_approved,
        _A.decision_rejected,
        _A.approval_reminder,
        _A.approval_escalated,
        _A.approval_expired,
        _A.request_withdrawn,
        _A.ticket_opened,
        _A.action_approval_requested,
        _A.action_approval_approved,
        _A.action_approval_rejected,
        _A.action_approval_expired,
        _A.action_approval_withdrawn,
    ),
    _S.changes: (
        _A.manifest_amended,
        _A.scope_changed,
        _A.scope_change_assessed,
        _A.revalidation_requested,
        _A.revalidation_approved,
        _A.revalidation_rejected,
        _A.revalidation_expired,
        _A.revalidation_withdrawn,
        _A.revalidation_folded,
    ),
    _S.recertifications: (
        _A.recertification_scheduled,
        _A.recertification_rescheduled,
        _A.recertification_reminder,
        _A.recertification_requested,
        _A.recertified,
        _A.recertification_rejected,
        _A.recertification_expired,
        _A.recertification_withdrawn,
        _A.recertification_overdue,
        _A.recertification_escalated,
        _A.recertification_ticket_opened,
        _A.recertification_ticket_closed,
        _A.overdue_gate_closed,
    ),
    _S.exceptions: (
        _A.exception_requested,
        _A.exception_granted,
        _A.exception_rejected,
        _A.exception_expired,
        _A.exception_revoked,
        _A.exception_gate_closed,
        _A.exception_ticket_opened,
    ),
    _S.credentials: (
        _A.credential_added,
        _A.credential_rotated,
        _A.credential_revoked,
        _A.credential_revocation_requested,
        _A.credential_revocation_confirmed,
        _A.credential_revocation_failed,
        _A.credential_dormant,
        _A.system_dormant,
        _A.dormancy_ticket_opened,
        _A.dormancy_ticket_closed,
    ),
    _S.findings: (_A.action_finding, _A.finding_acknowledged),
    _S.containment: (
        _A.contained,
        _A.release_requested,
        _A.released,
        _A.release_rejected,
        _A.release_expired,
        _A.release_withdrawn,
        _A.retired,
    ),
    _S.ledger: (_A.ledger_entry_erased,),
    _S.operations: (
        _A.notification_failed,
        _A.slack_delivery_failed,
        _A.withdraw_failed,
        _A.ticket_transition_failed,
        _A.request_start_failed,
        _A.system_not_told,
        _A.auth_throttled,
        _A.otlp_spans_unmatched,
    ),
}
SECTION: Mapping[AuditAction, EvidenceSection] = {
    action: section for section, actions in _MEMBERS.items() for action in actions
}
OPERATIONAL: frozenset[AuditAction] = frozenset(_MEMBERS[_S.operations])


def section_for(action: str) -> EvidenceSection:
    """The pack section of an action; `operations` for one this code does not know."""
    try:
        return SECTION[AuditAction(action)]
    except ValueError:
        return EvidenceSection.operations


def audit_action(prefix: str, outcome: str) -> AuditAction:
    """The action `<prefix>_<outcome>` (e.g. promotion + rejected); ValueError if there is none."""
    return AuditAction(f"{prefix}_{outcome}")
