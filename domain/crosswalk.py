"""Control crosswalk: which evidence supports which NIST CSF 2.0, AI RMF and OWASP NHI controls.

Pure data plus two functions. Evidence is named by *kind*: an audit ledger action
(`domain.audit.AuditAction`) or a manifest fact (`owners`, `use_cases`, ...). Every
governance action maps to at least one control; the operational ones
(`domain.audit.OPERATIONAL`) map to none, on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.audit import AuditAction


class Framework(StrEnum):
    """A control framework in the crosswalk."""

    csf = "NIST CSF 2.0"
    ai_rmf = "NIST AI RMF 1.0"
    nhi = "OWASP NHI Top 10 2025"


class Control(BaseModel):
    """One control (subcategory, function category or risk) of a framework."""

    model_config = ConfigDict(frozen=True)
    id: str
    framework: Framework
    title: str


def _controls(framework: Framework, pairs: Iterable[tuple[str, str]]) -> list[Control]:
    return [Control(id=cid, framework=framework, title=title) for cid, title in pairs]


CATALOGUE: tuple[Control, ...] = tuple(
    _controls(
        Framework.csf,
        [
            ("GV.OV-01", "Risk management strategy outcomes are reviewed to adjust direction"),
            ("GV.OV-02", "The strategy is reviewed and adjusted to cover requirements and risks"),
            ("GV.OV-03", "Risk management performance is evaluated and reviewed for adjustments"),
            ("GV.RR-02", "Roles, responsibilities and authorities are established and enforced"),
            ("GV.PO-01", "Policy for managing risk is established, communicated and enforced"),
            ("GV.PO-02", "Policy is reviewed and updated as requirements and technology change"),
            ("ID.AM-02", "Inventories of software, services and systems are maintained"),
            (
                "ID.AM-07",
                "Inventories of data and its metadata for designated types are maintained",
            ),
            ("ID.RA-07", "Changes and exceptions are managed, assessed, recorded and tracked"),
            ("PR.AA-01", "Identities and credentials for users, services and hardware are managed"),
            (
                "PR.AA-05",
                "Access permissions are managed with least privilege and separation of duties",
            ),
            ("PR.PS-04", "Log records are generated and made available for monitoring"),
            ("DE.CM-09", "Runtime environments and their data are monitored for adverse events"),
            ("DE.AE-02", "Potentially adverse events are analysed"),
            ("RS.MI-01", "Incidents are contained"),
        ],
    )
    + _controls(
        Framework.ai_rmf,
        [
            ("GOVERN-1", "Policies, processes and practices for AI risk are in place and applied"),
            ("GOVERN-2", "Accountability structures: people are empowered and responsible"),
            (
                "GOVERN-3",
                "Workforce diversity, equity, inclusion and accessibility are prioritised",
            ),
            (
                "GOVERN-4",
                "Teams are committed to a culture that considers and communicates AI risk",
            ),
            ("GOVERN-5", "Processes for robust engagement with relevant AI actors"),
            ("GOVERN-6", "Policies address risks from third-party software, data and supply chain"),
        ],
    )
    + _controls(
        Framework.nhi,
        [
            ("NHI1", "Improper Offboarding"),
            ("NHI2", "Secret Leakage"),
            ("NHI3", "Vulnerable Third-Party NHI"),
            ("NHI4", "Insecure Authentication"),
            ("NHI5", "Overprivileged NHI"),
            ("NHI6", "Insecure Cloud Deployment Configurations"),
            ("NHI7", "Long-Lived Secrets"),
            ("NHI8", "Environment Isolation"),
            ("NHI9", "NHI Reuse"),
            ("NHI10", "Human Use of NHI"),
        ],
    )
)

_DECISION = ("GV.OV-01", "GV.RR-02", "PR.AA-05", "GOVERN-2")
_CHANGE = ("ID.RA-07", "GV.OV-02", "GOVERN-1")
_RECERT = ("GV.OV-03", "GV.OV-02", "GOVERN-1", "GOVERN-2")
_EXCEPTION = ("ID.RA-07", "GV.PO-02", "GV.OV-02", "GOVERN-1")
_REVOCATION = ("PR.AA-01", "RS.MI-01", "NHI1")

_GATE = ("GV.PO-01", "GOVERN-1")
_A = AuditAction

MANIFEST_FACTS: Mapping[str, tuple[str, ...]] = {
    "owners": ("GV.RR-02", "GOVERN-2"),
    "use_cases": ("GOVERN-1", "GOVERN-4", "ID.AM-02"),
    "data_classification": ("ID.AM-07", "GOVERN-1"),
    "model": ("ID.AM-02", "GOVERN-6"),
    "logging_policy": ("PR.PS-04",),
    "credential_inventory": ("PR.AA-01", "NHI7", "NHI8", "NHI9"),
    # credentials an outside provider issued (model vendor API keys, SaaS OAuth clients)
    "third_party_credentials": ("NHI3", "GOVERN-6", "PR.AA-01"),
}
ACTION_CONTROLS: Mapping[AuditAction, tuple[str, ...]] = {
    # lifecycle
    _A.registered: ("ID.AM-02", "ID.AM-07", "GOVERN-1"),
    _A.entered_pilot: ("ID.AM-02", "GV.PO-01", "GOVERN-1"),
    _A.entered_production: ("GV.OV-01", "ID.AM-02"),
    _A.production_governance_applies: _GATE,
    # promotion and approval requests
    _A.promotion_requested: ("GV.OV-01", "GV.RR-02", "GOVERN-1"),
    _A.promotion_approved: _DECISION,
    _A.promotion_rejected: _DECISION,
    _A.promotion_expired: _DECISION,
    _A.promotion_withdrawn: _DECISION,
    _A.decision_approved: (*_DECISION, "GOVERN-4"),
    _A.decision_rejected: (*_DECISION, "GOVERN-4"),
    _A.approval_reminder: ("GV.RR-02", "GOVERN-2"),
    _A.approval_escalated: ("GV.RR-02", "GOVERN-2"),
    _A.approval_expired: ("GV.RR-02", "GOVERN-2"),
    _A.request_withdrawn: ("GV.RR-02", "RS.MI-01", "GOVERN-2"),
    # a human approves a named action at run time (use case's human_approval), time-boxed
    _A.action_approval_requested: ("GV.OV-01", "PR.AA-05", "GOVERN-4", "NHI5"),
    _A.action_approval_approved: (*_DECISION, "GOVERN-4", "NHI5"),
    _A.action_approval_rejected: (*_DECISION, "GOVERN-4", "NHI5"),
    _A.action_approval_expired: ("GV.RR-02", "PR.AA-05", "GOVERN-2"),
    _A.action_approval_withdrawn: ("GV.RR-02", "RS.MI-01", "GOVERN-2"),
    _A.ticket_opened: ("ID.RA-07", "GOVERN-4"),
    # changes and revalidation
    _A.manifest_amended: ("ID.AM-02", "ID.RA-07"),
    _A.scope_changed: _CHANGE,
    _A.scope_change_assessed: _CHANGE,
    _A.revalidation_requested: _CHANGE,
    _A.revalidation_approved: (*_CHANGE, *_DECISION),
    _A.revalidation_rejected: (*_CHANGE, *_DECISION),
    _A.revalidation_expired: _CHANGE,
    _A.revalidation_withdrawn: _CHANGE,
    _A.revalidation_folded: _CHANGE,
    # recertification
    _A.recertification_scheduled: ("GV.OV-03", "GOVERN-1"),
    _A.recertification_rescheduled: ("GV.OV-03", "GV.PO-02", "GOVERN-1"),
    _A.recertification_reminder: _RECERT,
    _A.recertification_requested: _RECERT,
    _A.recertified: (*_RECERT, "GV.OV-01"),
    _A.recertification_rejected: (*_RECERT, "GV.RR-02"),
    _A.recertification_expired: _RECERT,
    _A.recertification_withdrawn: _RECERT,
    _A.recertification_overdue: (*_RECERT, "GV.PO-01"),
    _A.recertification_escalated: (*_RECERT, "GV.RR-02"),
    _A.recertification_ticket_opened: ("GV.OV-03", "GOVERN-4"),
    _A.recertification_ticket_closed: ("GV.OV-03", "GOVERN-4"),
    _A.overdue_gate_closed: ("GV.OV-03", *_GATE),
    # exceptions
    _A.exception_requested: _EXCEPTION,
    _A.exception_granted: (*_EXCEPTION, "GV.RR-02"),
    _A.exception_rejected: (*_EXCEPTION, "GV.RR-02"),
    _A.exception_expired: _EXCEPTION,
    _A.exception_revoked: _EXCEPTION,
    _A.exception_gate_closed: ("ID.RA-07", *_GATE),
    _A.exception_ticket_opened: ("ID.RA-07", "GOVERN-4"),
    # credentials
    _A.credential_added: ("PR.AA-01", "ID.AM-02", "NHI8", "NHI9"),
    _A.credential_rotated: ("PR.AA-01", "NHI2", "NHI7"),
    _A.credential_revoked: ("PR.AA-01", "NHI1", "NHI2"),
    _A.credential_revocation_requested: _REVOCATION,
    _A.credential_revocation_confirmed: _REVOCATION,
    _A.credential_revocation_failed: (*_REVOCATION, "DE.AE-02"),
    _A.credential_dormant: ("NHI1", "PR.AA-01", "DE.CM-09"),
    _A.system_dormant: ("NHI1", "ID.AM-02"),
    _A.dormancy_ticket_opened: ("NHI1", "GOVERN-4"),
    _A.dormancy_ticket_closed: ("NHI1", "GOVERN-4"),
    # action ledger
    _A.action_finding: ("DE.CM-09", "DE.AE-02", "PR.PS-04", "NHI5", "NHI10"),
    _A.finding_acknowledged: ("DE.AE-02", "GV.RR-02", "NHI10"),
    # containment and retirement
    _A.contained: ("RS.MI-01", "GV.RR-02", "NHI1"),
    _A.release_requested: ("RS.MI-01", "GV.RR-02"),
    _A.released: ("RS.MI-01", "GV.RR-02", "PR.AA-05"),
    _A.release_rejected: ("RS.MI-01", "GV.RR-02"),
    _A.release_expired: ("RS.MI-01", "GV.RR-02"),
    _A.release_withdrawn: ("RS.MI-01", "GV.RR-02"),
    _A.retired: ("ID.AM-02", "GOVERN-1", "NHI1"),
    # the ledger: a leaked secret or personal data erased, the erasure itself logged
    _A.ledger_entry_erased: ("PR.PS-04", "GV.RR-02", "NHI2"),
}
EVIDENCE: Mapping[str, tuple[str, ...]] = {
    **MANIFEST_FACTS,
    **{action.value: controls for action, controls in ACTION_CONTROLS.items()},
}
"""Evidence kind (manifest fact or audit action) -> the controls it supports."""

_BY_ID = {control.id: control for control in CATALOGUE}


class ControlEvidence(BaseModel):
    """One control, and the evidence kinds (with counts) that support it."""

    model_config = ConfigDict(frozen=True)
    control: Control
    evidence: dict[str, int] = Field(default_factory=dict, description="kind → how many items")


class Crosswalk(BaseModel):
    """Every control in the catalogue: supported (with evidence) or not yet."""

    model_config = ConfigDict(frozen=True)
    supported: list[ControlEvidence]
    without_evidence: list[Control]
    unmapped: list[str] = Field(
        default_factory=list, description="Evidence kinds present that map to no control"
    )


def controls_for(kind: str) -> list[Control]:
    """The controls one kind of evidence supports (none for operational events)."""
    return [_BY_ID[cid] for cid in EVIDENCE.get(kind, ())]


def crosswalk(counts: Mapping[str, int]) -> Crosswalk:
    """Map evidence counts by kind onto the catalogue, in catalogue order."""
    found: dict[str, dict[str, int]] = {}
    for kind, count in sorted(counts.items()):
        if count <= 0:
            continue
        for cid in EVIDENCE.get(kind, ()):
            found.setdefault(cid, {})[kind] = count
    supported = [
        ControlEvidence(control=c, evidence=found[c.id]) for c in CATALOGUE if c.id in found
    ]
    missing = [c for c in CATALOGUE if c.id not in found]
    unmapped = sorted(k for k, n in counts.items() if n > 0 and k not in EVIDENCE)
    return Crosswalk(supported=supported, without_evidence=missing, unmapped=unmapped)
