"""A manifest draft from an AI-BOM (CycloneDX ML-BOM or SPDX 3 AI package), and what it lacks.

Nothing is registered: the draft is for a person to complete and send to `POST /systems`.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from domain.errors import InvalidInput, Problem

_GOVERNANCE = (
    ("business_owner", "who answers for the system's use: add an email"),
    ("technical_owner", "who answers for how it runs: add an email"),
    ("use_cases", "add each use: name, purpose, the actions a human must approve"),
    ("data_classification", "public, internal, confidential or regulated"),
)


class BomDraft(BaseModel):
    """A manifest draft read from a BOM, with each field still to be filled in."""

    source: str = Field(description="cyclonedx or spdx.")
    manifest: dict[str, Any] = Field(description="The draft; complete it before registering.")
    missing: list[Problem] = Field(description="Fields the BOM did not give, each with the fix.")


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:64].strip("-")
    return slug if len(slug) >= 3 else f"{slug}-ai".strip("-")


def _props(component: dict[str, Any]) -> dict[str, str]:
    items = component.get("properties") or []
    return {str(p.get("name")): str(p.get("value")) for p in items if isinstance(p, dict)}


def _emails(component: dict[str, Any] | None) -> list[str]:
    authors = (component or {}).get("authors") or []
    return [str(a["email"]) for a in authors if isinstance(a, dict) and a.get("email")]


def _from_cyclonedx(data: dict[str, Any]) -> dict[str, Any]:
    components = [c for c in data.get("components") or [] if isinstance(c, dict)]
    root = (data.get("metadata") or {}).get("component")
    models = [c for c in [*components, root or {}] if c.get("type") == "machine-learning-model"]
    if not models:
        raise _refused("components", "add a component with type machine-learning-model")
    model = models[0]
    provider = (
        model.get("group") or (model.get("supplier") or {}).get("name") or model.get("publisher")
    )
    draft: dict[str, Any] = {
        "id": _slug(str((root or model).get("name", ""))),
        "name": str((root or model).get("name", "")),
        "model": {"provider": provider, "name": model.get("name"), "version": model.get("version")},
    }
    owners = _emails(root) or _emails(model)
    for field, email in zip(("business_owner", "technical_owner"), owners, strict=False):
        draft[field] = email
    props = {k: v for c in [root or {}, *components] for k, v in _props(c).items()}
    if classification := props.get("threshold:data_classification"):
        draft["data_classification"] = classification
    uses = (((model.get("modelCard") or {}).get("considerations") or {}).get("useCases")) or []
    if uses:
        draft["use_cases"] = [
            {"name": _slug(str(u).split(":")[0]), "purpose": str(u)} for u in uses if u
        ]
    draft["mcp_servers"] = [
        {"name": s.get("name"), "url": (s.get("endpoints") or [None])[0]}
        for s in data.get("services") or []
        if isinstance(s, dict) and s.get("group") == "mcp"
    ]
    return draft


def _from_spdx(data: dict[str, Any]) -> dict[str, Any]:
    graph = [e for e in data.get("@graph") or [] if isinstance(e, dict)]
    packages = [e for e in graph if e.get("type") == "ai_AIPackage"]
    if not packages:
        raise _refused("@graph", "add an element with type ai_AIPackage")
    package = packages[0]
    by_id = {e.get("spdxId"): e for e in graph}
    supplier = by_id.get(package.get("suppliedBy")) or {}
    draft: dict[str, Any] = {
        "id": _slug(str(package.get("name", ""))),
        "name": package.get("name"),
        "description": package.get("description") or package.get("summary") or "",
        "model": {
            "provider": supplier.get("name"),
            "name": package.get("name"),
            "version": package.get("software_packageVersion"),
        },
    }
    if package.get("ai_autonomyType") == "yes":
        draft["autonomy"] = "autonomous"
    return draft


def _refused(field: str, fix: str) -> InvalidInput:
    return InvalidInput(f"no AI model in the BOM: {fix}", [Problem(field, fix)])


def draft_from_bom(data: Any) -> BomDraft:
    """Read a CycloneDX ML-BOM or an SPDX 3 JSON-LD document into a manifest draft."""
    if isinstance(data, dict) and data.get("bomFormat") == "CycloneDX":
        source, draft = "cyclonedx", _from_cyclonedx(data)
    elif isinstance(data, dict) and "@graph" in data:
        source, draft = "spdx", _from_spdx(data)
    else:
        fix = "send a CycloneDX JSON BOM (bomFormat: CycloneDX) or SPDX 3 JSON-LD (@graph)"
        raise InvalidInput("the body is not a BOM we read", [Problem("(body)", fix)])
    draft["model"] = {k: v for k, v in draft["model"].items() if v}
    draft = {k: v for k, v in draft.items() if v not in (None, "", [], {})}
    missing = [Problem(f, fix) for f, fix in _GOVERNANCE if f not in draft]
    missing += [
        Problem(f"model.{f}", f"the BOM names no model {f}: add it")
        for f in ("provider", "name", "version")
        if f not in draft.get("model", {})
    ]
    if "model" not in draft:
        draft["model"] = {}
    return BomDraft(source=source, manifest=draft, missing=missing)
