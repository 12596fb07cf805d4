"""A system as a CycloneDX 1.6 ML-BOM (cyclonedx-python-lib), with the model card we hold.

cyclonedx-python-lib has no model-card type, so `modelCard` is added to the serialised model
component; the whole document is then checked with the library's strict 1.6 JSON validator.
"""

from __future__ import annotations

import json
from typing import Any

from cyclonedx.model import DataClassification as FlowData
from cyclonedx.model import DataFlow, Property, XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.contact import OrganizationalContact
from cyclonedx.model.service import Service
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from domain.manifest import AISystemManifest

MODEL_REF = "model"


def _owners(manifest: AISystemManifest) -> list[OrganizationalContact]:
    return [
        OrganizationalContact(name=role.replace("_", " "), email=str(email))
        for role, email in (
            ("business_owner", manifest.business_owner),
            ("technical_owner", manifest.technical_owner),
        )
        if email
    ]


def _services(manifest: AISystemManifest) -> list[Service]:
    found = [
        Service(
            name=server.name,
            group="mcp",
            endpoints=[XsUri(server.url)] if server.url else None,
            properties=[
                Property(
                    name=f"threshold:mcp:tool:{tool.name}",
                    value="destructive" if tool.annotations.writes else "read-only",
                )
                for tool in server.tools
            ],
        )
        for server in manifest.mcp_servers
    ]
    found += [Service(name=tool, group="tool") for tool in manifest.capabilities.tools]
    return found


def _bom(manifest: AISystemManifest) -> Bom:
    model = manifest.model
    bom = Bom()
    root = Component(
        name=manifest.id,
        bom_ref="system",
        type=ComponentType.APPLICATION,
        description=manifest.name,
        authors=_owners(manifest),
        properties=[
            Property(name="threshold:autonomy", value=manifest.autonomy.value),
            Property(name="threshold:environment", value=manifest.environment.value),
            Property(name="threshold:customer_facing", value=str(manifest.customer_facing).lower()),
        ],
    )
    bom.metadata.component = root
    ml = Component(
        name=model.name,
        version=model.version,
        group=model.provider,
        type=ComponentType.MACHINE_LEARNING_MODEL,
        bom_ref=MODEL_REF,
    )
    classification = manifest.data_classification.value
    data = Component(
        name=f"{manifest.id}-data",
        bom_ref="data",
        type=ComponentType.DATA,
        properties=[
            Property(name="threshold:data_classification", value=classification),
            Property(
                name="threshold:synthetic_data_only",
                value=str(manifest.synthetic_data_only).lower(),
            ),
        ],
    )
    bom.components.update([ml, data])
    bom.register_dependency(root, [ml, data])
    for service in _services(manifest):
        service.data = [FlowData(flow=DataFlow.BI_DIRECTIONAL, classification=classification)]
        bom.services.add(service)
    return bom


def _model_card(manifest: AISystemManifest) -> dict[str, Any]:
    uses = [f"{use.name}: {use.purpose}" for use in manifest.use_cases]
    return {
        "modelParameters": {"task": manifest.description or manifest.name},
        "considerations": {"useCases": uses} if uses else {},
    }


def export_bom(manifest: AISystemManifest) -> dict[str, Any]:
    """The system's CycloneDX 1.6 ML-BOM as JSON data (validated against the 1.6 schema)."""
    document: dict[str, Any] = json.loads(JsonV1Dot6(_bom(manifest)).output_as_string())
    for component in document.get("components", []):
        if component.get("bom-ref") == MODEL_REF:
            component["modelCard"] = _model_card(manifest)
    return document


def validation_error(document: dict[str, Any]) -> str | None:
    """None when the document is valid CycloneDX 1.6 JSON, else the validator's message."""
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(document))
    return None if error is None else str(error)
