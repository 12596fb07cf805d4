"""Evidence pack renderings: JSON, CSV (one row per item) and a self-contained HTML page."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from enum import StrEnum

from api.dashboard.templating import templates
from domain.evidence import EvidencePack, SystemEvidence

CSV_COLUMNS = (
    "record",
    "system_id",
    "section",
    "seq",
    "at",
    "actor",
    "action",
    "request_id",
    "controls",
    "detail",
    "hash",
)


class PackFormat(StrEnum):
    """How an evidence pack is written."""

    json = "json"
    csv = "csv"
    html = "html"


MEDIA_TYPES = {
    PackFormat.json: "application/json",
    PackFormat.csv: "text/csv; charset=utf-8",
    PackFormat.html: "text/html; charset=utf-8",
}


def render_pack(pack: EvidencePack, fmt: PackFormat) -> str:
    """The pack as text in `fmt`."""
    if fmt is PackFormat.json:
        return pack.model_dump_json(indent=2)
    if fmt is PackFormat.csv:
        return pack_csv(pack)
    template = templates.env.get_template("evidence.html")
    return template.render(pack=pack)


def pack_csv(pack: EvidencePack) -> str:
    """Rows: each system's facts, decisions, ledger entries and head; then the crosswalk."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, restval="")
    writer.writeheader()
    for system in pack.systems:
        writer.writerows(_system_rows(system))
    for item in pack.crosswalk.supported:
        control = item.control
        writer.writerow(
            {
                "record": "control",
                "section": control.framework.value,
                "controls": control.id,
                "detail": _json(item.evidence),
            }
        )
    for control in pack.crosswalk.without_evidence:
        writer.writerow(
            {
                "record": "control_without_evidence",
                "section": control.framework.value,
                "controls": control.id,
            }
        )
    if pack.checkpoint is not None:
        signed = pack.checkpoint
        writer.writerow(
            {
                "record": "checkpoint",
                "at": signed.created_at,
                "actor": signed.created_by,
                "detail": signed.model_dump_json(),  # `threshold audit verify --checkpoint` reads it
            }
        )
    return out.getvalue()


def _system_rows(system: SystemEvidence) -> Iterator[dict[str, object]]:
    """One system's CSV rows: facts, decisions, every ledger entry, the chain head."""
    sid = system.system_id
    facts = {
        "business_owner": system.business_owner,
        "technical_owner": system.technical_owner,
        "data_classification": system.data_classification,
        "use_cases": system.use_cases,
        "credentials": system.credentials,
    }
    for name, value in facts.items():
        yield {"record": "fact", "system_id": sid, "section": name, "detail": _json(value)}
    for approval in system.approvals:
        for d in approval.decisions:
            yield {
                "record": "decision",
                "system_id": sid,
                "section": approval.kind,
                "at": d.at.isoformat(),
                "actor": d.principal,
                "action": "approve" if d.approve else "reject",
                "request_id": approval.id,
                "detail": _json({"role": d.role.value, "comment": d.comment}),
            }
    for section, entries in system.sections.items():
        for e in entries:
            yield {
                "record": "event",
                "system_id": sid,
                "section": section,
                "seq": e.seq,
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "request_id": e.request_id or "",
                "controls": " ".join(e.controls),
                "detail": _json(e.detail) if e.erased_at is None else "",
                "hash": e.hash,
            }
    if system.ledger_head is not None:
        head = system.ledger_head
        yield {"record": "ledger_head", "system_id": sid, "seq": head.seq, "hash": head.hash}


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)
