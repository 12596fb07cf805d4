"""AI-BOMs: a system as a CycloneDX 1.6 ML-BOM, and a manifest draft from a BOM."""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from api.auth import READERS, WRITERS, Principal
from api.deps import ServiceDep, SystemIdPath, require
from api.documents import parse_json
from api.openapi import READ, component, errors
from domain.bom import draft_from_bom
from integrations.cyclonedx_bom import export_bom

router = APIRouter(tags=["boms"])
Reader = Annotated[Principal, Depends(require(READERS))]
Writer = Annotated[Principal, Depends(require(WRITERS))]
_BOM = component(
    "AiBom",
    {
        "type": "object",
        "description": "A CycloneDX 1.6 JSON BOM (bomFormat: CycloneDX) with a "
        "machine-learning-model component, or an SPDX 3 JSON-LD document whose @graph holds "
        "an ai_AIPackage.",
    },
)


class MissingField(BaseModel):
    """A manifest field the BOM did not give, and how to fill it."""

    field: str
    message: str


class ManifestDraftOut(BaseModel):
    """A manifest draft read from a BOM; nothing is registered."""

    source: str = Field(description="cyclonedx or spdx.")
    manifest: dict[str, Any] = Field(description="The draft as JSON.")
    manifest_yaml: str = Field(description="The same draft as YAML, ready to edit.")
    missing: list[MissingField] = Field(description="What to add before registering.")


@router.get(
    "/systems/{system_id}/bom",
    response_model=dict[str, Any],
    operation_id="exportSystemBom",
    summary="Export a system as a CycloneDX 1.6 ML-BOM",
    responses=errors(*READ, 404, 503),
)
async def export(system_id: SystemIdPath, service: ServiceDep, _: Reader) -> dict[str, Any]:
    """The declared manifest as a CycloneDX 1.6 ML-BOM: the model (with its model card), MCP
    servers and tools as services, the data classification, the owners."""
    view = await service.view(system_id)
    return export_bom(view.manifest)


@router.post(
    "/manifests/from-bom",
    response_model=ManifestDraftOut,
    operation_id="manifestFromBom",
    summary="Draft a manifest from a CycloneDX or SPDX 3 AI-BOM (registers nothing)",
    responses=errors(400, 401, 403, 413, 422),
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _BOM}}}
    },
)
async def from_bom(request: Request, _: Writer) -> ManifestDraftOut:
    """A manifest draft and the list of what is still missing (owners, use cases, ...)."""
    draft = draft_from_bom(parse_json(await request.body(), "send a BOM as a JSON object"))
    return ManifestDraftOut(
        source=draft.source,
        manifest=draft.manifest,
        manifest_yaml=yaml.safe_dump(draft.manifest, sort_keys=False),
        missing=[MissingField(field=p.field, message=p.message) for p in draft.missing],
    )
