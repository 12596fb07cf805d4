"""OpenTelemetry GenAI and MCP spans as action records: which span is which action, of which system.

Reads the OpenTelemetry semantic conventions named by `SEMCONV_VERSION` (GenAI and MCP,
status Development). A span is an action when its `gen_ai.operation.name` is `execute_tool`,
`invoke_agent` or `chat`, or its `mcp.method.name` is `tools/call` or `resources/read`; any
other span (HTTP, database, …) is skipped. The system is the first of the resource attribute
`threshold.system.id`, the span attribute `gen_ai.agent.id` and the resource's `service.name`;
the model is `gen_ai.response.model`, else `gen_ai.request.model` (`MODEL_ATTRIBUTES`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.actions import ActionKind

SEMCONV_VERSION = "1.40.0"
"""The OpenTelemetry semantic-convention version whose GenAI and MCP attributes are read."""
SEMCONV_SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"

SYSTEM_ATTRIBUTES = (
    ("resource", "threshold.system.id"),
    ("span", "gen_ai.agent.id"),
    ("resource", "service.name"),
)
ENVIRONMENT_ATTRIBUTES = ("threshold.environment", "deployment.environment.name")
MODEL_ATTRIBUTES = ("gen_ai.response.model", "gen_ai.request.model")
"""The model a span names, first found: the one that answered, else the one asked for."""
TOOL_OPERATIONS = {"execute_tool"}
PROMPT_OPERATIONS = {"chat", "invoke_agent", "text_completion", "generate_content"}
MCP_TOOL_METHODS = {"tools/call"}
MCP_READ_METHODS = {"resources/read"}


class OtlpSpan(BaseModel):
    """One decoded span with its resource's attributes (values as plain Python)."""

    model_config = ConfigDict(frozen=True)
    trace_id: str
    span_id: str
    name: str
    start: datetime
    attributes: dict[str, Any]
    resource: dict[str, Any]


class SpanAction(BaseModel):
    """What a span did, before its system is known to exist (fields of an `ActionRecord`)."""

    model_config = ConfigDict(frozen=True)
    system: str
    environment: str | None
    fields: dict[str, Any]


def _text(value: Any) -> str | None:
    """An attribute as text (lists and numbers joined or printed), None when absent."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return "\n".join(str(v) for v in value)
    return str(value)


def span_system(span: OtlpSpan) -> str | None:
    """The system a span belongs to, by `SYSTEM_ATTRIBUTES` order (None: no attribute names one)."""
    for where, name in SYSTEM_ATTRIBUTES:
        source = span.resource if where == "resource" else span.attributes
        value = _text(source.get(name))
        if value:
            return value
    return None


def _environment(span: OtlpSpan) -> str | None:
    for name in ENVIRONMENT_ATTRIBUTES:
        for source in (span.attributes, span.resource):
            value = _text(source.get(name))
            if value:
                return value
    return None


def _common(span: OtlpSpan) -> dict[str, Any]:
    """Fields every record of a span carries: time, trace, credential, target, approver, model."""
    attrs: Mapping[str, Any] = span.attributes
    fields: dict[str, Any] = {
        "time": span.start,
        "trace_id": span.trace_id,
        "credential_id": _text(attrs.get("threshold.credential.id"))
        or _text(span.resource.get("threshold.credential.id")),
        "target": _text(attrs.get("threshold.target")),
        "access": _text(attrs.get("threshold.access")),
        "approved_by": _text(attrs.get("threshold.approved_by")),
        "model": next(filter(None, (_text(attrs.get(name)) for name in MODEL_ATTRIBUTES)), None),
    }
    return {k: v for k, v in fields.items() if v is not None}


def span_actions(span: OtlpSpan) -> list[SpanAction] | None:
    """The action records a span stands for; None when it is no GenAI or MCP action."""
    attrs = span.attributes
    operation = _text(attrs.get("gen_ai.operation.name"))
    method = _text(attrs.get("mcp.method.name"))
    system = span_system(span) or ""
    common = _common(span)
    base = f"{span.trace_id}-{span.span_id}"
    records: list[dict[str, Any]] = []
    if method in MCP_TOOL_METHODS or operation in TOOL_OPERATIONS:
        tool = _text(attrs.get("gen_ai.tool.name")) or _text(attrs.get("mcp.tool.name"))
        records.append(
            {
                "kind": ActionKind.tool_call,
                "id": base,
                "tool": tool,
                "content": _text(attrs.get("gen_ai.tool.call.arguments")),
                **common,
            }
        )
    elif method in MCP_READ_METHODS:
        uri = _text(attrs.get("mcp.resource.uri"))
        records.append(
            {"kind": ActionKind.tool_call, "id": base, **common, "target": uri, "access": "read"}
        )
    elif operation in PROMPT_OPERATIONS:
        prompt = _text(attrs.get("gen_ai.input.messages"))
        output = _text(attrs.get("gen_ai.output.messages"))
        records.append({"kind": ActionKind.prompt, "id": base, "content": prompt, **common})
        if output is not None:
            records.append(
                {"kind": ActionKind.output, "id": f"{base}-out", "content": output, **common}
            )
    else:
        return None
    environment = _environment(span)
    return [
        SpanAction(
            system=system,
            environment=environment,
            fields={k: v for k, v in r.items() if v is not None},
        )
        for r in records
    ]
