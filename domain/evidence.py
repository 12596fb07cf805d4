"""Audit evidence packs: one system's governance record, sectioned, with its control crosswalk.

Pure: the caller reads the ledger entries, requests and manifest; `system_evidence` sorts each
ledger entry into exactly one section (by its action) and counts evidence for the crosswalk.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.approvals import ApprovalRequest, Decision
from domain.audit import EvidenceSection, section_for
from domain.crosswalk import Crosswalk, controls_for, crosswalk
from domain.manifest import AISystemManifest, CredentialKind
from domain.requirements import GovernanceRequirements

SECTION_NAMES = tuple(section.value for section in EvidenceSection)
THIRD_PARTY_KINDS = frozenset({CredentialKind.api_key, CredentialKind.oauth_client})


def section_of(action: str) -> str:
    """The pack section an audit action belongs to (`operations` for delivery noise)."""
    return section_for(action).value


class LedgerEntry(BaseModel):
    """One audit ledger entry as stored (hashes included, so the pack can be re-checked)."""

    model_config = ConfigDict(frozen=True)
    seq: int
    at: str
    actor: str
    action: str
    request_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    prev_hash: str
    hash: str
    controls: list[str] = Field(default_factory=list)


class ApprovalEvidence(BaseModel):
    """An approval request with who decided what, in which role, and when."""

    model_config = ConfigDict(frozen=True)
    id: str
    kind: str
    status: str
    summary: str
    requester: str
    required_roles: list[str]
    opened_at: datetime
    closed_at: datetime | None = None
    reason: str = ""
    decisions: list[Decision] = Field(default_factory=list)
    ticket: str | None = None


class LedgerHead(BaseModel):
    """The system's chain head when the pack was made: recompute the chain to this hash."""

    model_config = ConfigDict(frozen=True)
    chain_id: str
    seq: int
    hash: str


class SystemEvidence(BaseModel):
    """Everything an auditor asks about one system."""

    model_config = ConfigDict(frozen=True)
    system_id: str
    name: str
    state: str
    environment: str
    risk_tier: str
    production_governance_applies: bool
    why: list[str]
    business_owner: str | None
    technical_owner: str | None
    use_cases: list[dict[str, Any]]
    data_classification: str
    synthetic_data_only: bool
    model: dict[str, Any]
    logging_policy: dict[str, Any] | None
    credentials: list[dict[str, Any]]
    approvals: list[ApprovalEvidence]
    sections: dict[str, list[LedgerEntry]]
    ledger_head: LedgerHead | None
    evidence_counts: dict[str, int] = Field(description="evidence kind → items in this pack")
    crosswalk: Crosswalk


def manifest_facts(manifest: AISystemManifest) -> Counter[str]:
    """Evidence kinds the manifest itself provides."""
    facts: Counter[str] = Counter(data_classification=1, model=1)
    if manifest.business_owner and manifest.technical_owner:
        facts["owners"] = 1
    facts["use_cases"] = len(manifest.use_cases)
    facts["credential_inventory"] = len(manifest.credentials)
    facts["third_party_credentials"] = sum(
        1 for c in manifest.credentials if c.kind in THIRD_PARTY_KINDS
    )
    facts["logging_policy"] = int(manifest.logging is not None)
    return facts


def approval_evidence(request: ApprovalRequest) -> ApprovalEvidence:
    """The auditor's view of one request."""
    return ApprovalEvidence(
        id=request.id,
        kind=request.kind.value,
        status=request.status.value,
        summary=request.summary,
        requester=request.requester,
        required_roles=[r.value for r in request.required_roles],
        opened_at=request.opened_at,
        closed_at=request.closed_at,
        reason=request.reason,
        decisions=list(request.decisions),
        ticket=request.ticket,
    )


def system_evidence(
    *,
    system_id: str,
    state: str,
    manifest: AISystemManifest,
    requirements: GovernanceRequirements,
    entries: list[LedgerEntry],
    requests: list[ApprovalRequest],
    head: LedgerHead | None,
) -> SystemEvidence:
    """Assemble one system's evidence: each entry once, in its section, tagged with controls."""
    sections: dict[str, list[LedgerEntry]] = {name: [] for name in SECTION_NAMES}
    counts = manifest_facts(manifest)
    for entry in entries:
        tagged = entry.model_copy(update={"controls": [c.id for c in controls_for(entry.action)]})
        sections[section_of(entry.action)].append(tagged)
        counts[entry.action] += 1
    return SystemEvidence(
        system_id=system_id,
        name=manifest.name,
        state=state,
        environment=manifest.environment.value,
        risk_tier=requirements.risk_tier.value,
        production_governance_applies=requirements.applies,
        why=[t.reason for t in requirements.triggers],
        business_owner=manifest.business_owner,
        technical_owner=manifest.technical_owner,
        use_cases=[u.model_dump(mode="json") for u in manifest.use_cases],
        data_classification=manifest.data_classification.value,
        synthetic_data_only=manifest.synthetic_data_only,
        model=manifest.model.model_dump(mode="json"),
        logging_policy=manifest.logging.model_dump(mode="json") if manifest.logging else None,
        credentials=[c.model_dump(mode="json") for c in manifest.credentials],
        approvals=[approval_evidence(r) for r in requests],
        sections=sections,
        ledger_head=head,
        evidence_counts=dict(sorted(counts.items())),
        crosswalk=crosswalk(counts),
    )


class EvidencePack(BaseModel):
    """An export: its scope, the systems, and the crosswalk over all of them."""

    model_config = ConfigDict(frozen=True)
    generated_at: datetime
    generated_by: str
    since: datetime | None = None
    systems: list[SystemEvidence]
    crosswalk: Crosswalk


def evidence_pack(
    systems: list[SystemEvidence], *, at: datetime, by: str, since: datetime | None
) -> EvidencePack:
    """The pack over `systems`; its crosswalk sums every system's evidence."""
    counts: Counter[str] = Counter()
    for system in systems:
        counts.update(system.evidence_counts)
    return EvidencePack(
        generated_at=at, generated_by=by, since=since, systems=systems, crosswalk=crosswalk(counts)
    )
