"""MCP `tools/list` snapshots diffed against the approved tools: what is material, what is recorded."""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.changes import assess_change
from domain.errors import InvalidInput
from domain.events import apply_event, parse_cloudevent
from domain.manifest import AISystemManifest, parse_manifest
from domain.policy import Policy

READ = {"readOnlyHint": True, "destructiveHint": False}
WRITE = {"readOnlyHint": False, "destructiveHint": True}


@pytest.fixture
def approved(support_data: dict[str, Any]) -> AISystemManifest:
    """The support assistant approved with one MCP server holding a read-only search tool."""
    data = json.loads(json.dumps(support_data, default=str))
    data["mcp_servers"] = [
        {
            "name": "crm",
            "url": "https://mcp.example.com",
            "tools": [
                {"name": "search", "annotations": READ},
                {"name": "export", "annotations": READ},
            ],
        }
    ]
    return parse_manifest(data)


def listed(tools: list[dict[str, Any]], **data: Any) -> Any:
    """A `dev.threshold.mcp.tools_listed` event carrying a `tools/list` result for crm."""
    return parse_cloudevent(
        {
            "specversion": "1.0",
            "type": "dev.threshold.mcp.tools_listed",
            "source": "/mcp/crm",
            "id": "list-1",
            "subject": "support-assistant",
            "data": {"server": "crm", "tools": tools, **data},
        }
    )


def tool(name: str, hints: dict[str, bool]) -> dict[str, Any]:
    """One tool as MCP's `tools/list` returns it."""
    return {
        "name": name,
        "description": f"{name} things",
        "inputSchema": {"type": "object"},
        "annotations": hints,
    }


def assess(approved: AISystemManifest, policy: Policy, tools: list[dict[str, Any]]) -> Any:
    """The assessment of the snapshot against the approved manifest."""
    return assess_change(approved, apply_event(approved, listed(tools)), policy)


def test_new_tool_is_material(approved: AISystemManifest, policy: Policy) -> None:
    """A tool the approved snapshot lacks is a material `new_tool` change."""
    result = assess(
        approved, policy, [tool("search", READ), tool("export", READ), tool("lookup", READ)]
    )
    assert result.material
    assert [r.code for r in result.reasons] == ["new_tool"]
    assert "crm/lookup" in result.reasons[0].message


def test_newly_destructive_tool_counts_as_write_access(
    approved: AISystemManifest, policy: Policy
) -> None:
    """A tool whose annotations turn destructive is `new_write_access`, revalidated by security."""
    result = assess(approved, policy, [tool("search", READ), tool("export", WRITE)])
    assert [r.code for r in result.reasons] == ["new_write_access"]
    assert "security" in [role.value for role in result.revalidate_roles]


def test_missing_annotations_read_as_destructive(
    approved: AISystemManifest, policy: Policy
) -> None:
    """A new tool without annotations takes MCP's defaults, so it is new and destructive."""
    result = assess(
        approved, policy, [tool("search", READ), tool("export", READ), {"name": "drop"}]
    )
    assert [r.code for r in result.reasons] == ["new_tool", "new_write_access"]


def test_removed_and_read_only_changes_are_recorded(
    approved: AISystemManifest, policy: Policy
) -> None:
    """Removing tools or listing the same tools again changes nothing material."""
    removed = assess(approved, policy, [tool("search", READ)])
    assert not removed.material
    assert [r.code for r in removed.recorded_only] == ["tool_removed"]
    same = assess(approved, policy, [tool("search", READ), tool("export", READ)])
    assert same.action == "none"


def test_paginated_or_duplicate_listing_is_refused(approved: AISystemManifest) -> None:
    """A partial `tools/list` page or a tool listed twice is refused naming the field."""
    with pytest.raises(InvalidInput) as caught:
        apply_event(approved, listed([tool("a", READ), tool("a", READ)], nextCursor="p2"))
    assert [p.field for p in caught.value.problems] == ["data.tools[1].name", "data.nextCursor"]
