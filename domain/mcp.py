"""MCP servers in the manifest, and how a `tools/list` snapshot differs from the approved one.

A tool is named by `<server>/<tool>`. Materiality follows `changes.py`: a new tool is a
`new_tool`, a tool that is newly destructive (`destructiveHint` true and not `readOnlyHint`) is
`new_write_access`; removals and narrowing annotation changes are recorded only.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.secrets import FreeText


class McpAnnotations(BaseModel):
    """The MCP tool annotations Threshold reads (hints from the server, not guarantees)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    title: FreeText | None = None
    read_only: bool = Field(default=False, alias="readOnlyHint")
    destructive: bool = Field(default=True, alias="destructiveHint")
    idempotent: bool = Field(default=False, alias="idempotentHint")
    open_world: bool = Field(default=True, alias="openWorldHint")

    @property
    def writes(self) -> bool:
        """True when the tool may change or destroy things (MCP's defaults assume it may)."""
        return not self.read_only and self.destructive


class McpTool(BaseModel):
    """One tool an MCP server offers; unknown `tools/list` fields (inputSchema...) are kept out."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    name: FreeText = Field(min_length=1, max_length=128)
    annotations: McpAnnotations = Field(default_factory=McpAnnotations)


class McpServer(BaseModel):
    """An MCP server the system calls, with the tools approved on it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: FreeText = Field(min_length=1, max_length=128)
    url: FreeText | None = None
    tools: list[McpTool] = Field(default_factory=list)


def tool_map(servers: list[McpServer]) -> dict[str, McpTool]:
    """Every tool by `<server>/<tool>`."""
    return {f"{server.name}/{tool.name}": tool for server in servers for tool in server.tools}


def mcp_differences(before: list[McpServer], after: list[McpServer]) -> list[tuple[str, str]]:
    """(change code, message) for each difference between two MCP server lists."""
    old, new = tool_map(before), tool_map(after)
    found: list[tuple[str, str]] = []
    if added := [name for name in new if name not in old]:
        found.append(("new_tool", "new MCP tool: " + ", ".join(added)))
    destructive = [n for n in added if new[n].annotations.writes]
    destructive += [
        n for n in new if n in old and new[n].annotations.writes > old[n].annotations.writes
    ]
    if destructive:
        found.append(("new_write_access", "destructive MCP tool: " + ", ".join(destructive)))
    if narrowed := [
        n for n in new if n in old and new[n].annotations.writes < old[n].annotations.writes
    ]:
        found.append(("write_access_removed", "MCP tool now read-only: " + ", ".join(narrowed)))
    if removed := [name for name in old if name not in new]:
        found.append(("tool_removed", "MCP tool removed: " + ", ".join(removed)))
    return found


def with_snapshot(
    servers: list[McpServer], name: str, url: str | None, tools: list[dict[str, Any]]
) -> list[McpServer]:
    """The server list once `name`'s tools are replaced by a `tools/list` snapshot."""
    listed = McpServer(
        name=name,
        url=url if url is not None else next((s.url for s in servers if s.name == name), None),
        tools=[McpTool.model_validate(tool) for tool in tools],
    )
    kept = [server for server in servers if server.name != name]
    return (
        [*kept, listed]
        if len(kept) == len(servers)
        else [listed if server.name == name else server for server in servers]
    )
