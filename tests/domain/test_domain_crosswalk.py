"""The control crosswalk and evidence sections: pure data, checked for completeness."""

from __future__ import annotations

from domain.audit import OPERATIONAL, AuditAction
from domain.crosswalk import CATALOGUE, EVIDENCE, Framework, crosswalk
from domain.evidence import SECTION_NAMES, section_of

# derived from the enum: a new action without a control fails here
AGREED_ACTIONS = [a.value for a in AuditAction if a not in OPERATIONAL]


def test_every_agreed_action_maps_to_known_controls() -> None:
    """Each agreed audit action supports at least one control, and every id is in the catalogue."""
    ids = {c.id for c in CATALOGUE}
    for action in AGREED_ACTIONS:
        assert EVIDENCE.get(action), action
    for kind, controls in EVIDENCE.items():
        assert set(controls) <= ids, kind


def test_catalogue_covers_the_three_frameworks() -> None:
    """GV.OV-01..03, GOVERN 1-6 and NHI1-NHI10 are all in the catalogue."""
    ids = {c.id for c in CATALOGUE}
    assert {"GV.OV-01", "GV.OV-02", "GV.OV-03"} <= ids
    assert {f"GOVERN-{n}" for n in range(1, 7)} <= ids
    assert {f"NHI{n}" for n in range(1, 11)} <= ids
    assert {c.framework for c in CATALOGUE} == set(Framework)


def test_crosswalk_lists_controls_without_evidence() -> None:
    """A recertification supports GV.OV-03; with nothing about containment, RS.MI-01 is missing."""
    result = crosswalk({"recertified": 1, "owners": 1, "notification_failed": 2})
    supported = {item.control.id: item.evidence for item in result.supported}
    assert supported["GV.OV-03"] == {"recertified": 1}
    assert supported["GV.RR-02"] == {"owners": 1}
    missing = {c.id for c in result.without_evidence}
    assert "RS.MI-01" in missing and "NHI1" in missing
    assert not missing & set(supported)
    assert len(missing) + len(supported) == len(CATALOGUE)
    assert result.unmapped == ["notification_failed"]


def test_each_action_lands_in_one_section() -> None:
    """Sections partition the actions: lifecycle, approvals, changes, recertification, ..."""
    assert section_of("registered") == "lifecycle"
    assert section_of("promotion_approved") == "approvals"
    assert section_of("decision_rejected") == "approvals"
    assert section_of("scope_change_assessed") == "changes"
    assert section_of("revalidation_approved") == "changes"
    assert section_of("recertified") == "recertifications"
    assert section_of("recertification_ticket_opened") == "recertifications"
    assert section_of("overdue_gate_closed") == "recertifications"
    assert section_of("exception_granted") == "exceptions"
    assert section_of("credential_revocation_confirmed") == "credentials"
    assert section_of("action_finding") == "findings"
    assert section_of("released") == "containment"
    assert section_of("slack_delivery_failed") == "operations"
    assert all(section_of(a) in SECTION_NAMES for a in AGREED_ACTIONS)
