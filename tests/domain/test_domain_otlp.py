"""Which OpenTelemetry GenAI and MCP spans are which action records, of which system."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.actions import ActionKind
from domain.otlp import OtlpSpan, span_actions, span_system


def span(attributes: dict[str, Any], resource: dict[str, Any] | None = None) -> OtlpSpan:
    """A span of the support assistant unless `resource` says otherwise."""
    return OtlpSpan(
        trace_id="5b8efff798038103d269b633813fc60c",
        span_id="eee19b7ec3c1b174",
        name="x",
        start=datetime(2026, 12, 1, tzinfo=UTC),
        attributes=attributes,
        resource={"service.name": "support-assistant"} if resource is None else resource,
    )


def test_execute_tool_span_is_a_tool_call_with_its_credential_and_arguments() -> None:
    """An execute_tool span is a tool_call naming the tool, the credential and the arguments."""
    (action,) = (
        span_actions(
            span(
                {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "search_kb",
                    "gen_ai.tool.call.arguments": '{"q": "refund"}',
                    "threshold.credential.id": "crm-reader",
                }
            )
        )
        or []
    )
    assert action.system == "support-assistant"
    assert action.fields["kind"] is ActionKind.tool_call
    assert action.fields["tool"] == "search_kb"
    assert action.fields["credential_id"] == "crm-reader"
    assert action.fields["content"] == '{"q": "refund"}'
    assert action.fields["id"] == "5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174"


def test_mcp_tools_call_and_resources_read_are_tool_calls() -> None:
    """An MCP tools/call names its tool; a resources/read reads the resource URI."""
    (call,) = span_actions(span({"mcp.method.name": "tools/call", "mcp.tool.name": "t"})) or []
    assert call.fields["tool"] == "t"
    (read,) = (
        span_actions(span({"mcp.method.name": "resources/read", "mcp.resource.uri": "kb.articles"}))
        or []
    )
    assert (read.fields["target"], read.fields["access"]) == ("kb.articles", "read")


def test_chat_with_content_is_a_prompt_and_an_output() -> None:
    """A chat span with opt-in input and output messages is a prompt record and an output."""
    actions = span_actions(
        span(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.input.messages": "in",
                "gen_ai.output.messages": "out",
            }
        )
    )
    assert [(a.fields["kind"], a.fields["content"]) for a in actions or []] == [
        (ActionKind.prompt, "in"),
        (ActionKind.output, "out"),
    ]


def test_other_spans_are_not_actions() -> None:
    """An HTTP span (no GenAI or MCP operation) is skipped."""
    assert span_actions(span({"http.request.method": "GET"})) is None


def test_system_attribute_order() -> None:
    """threshold.system.id beats gen_ai.agent.id, which beats service.name; none names none."""
    both = {"service.name": "svc", "threshold.system.id": "explicit"}
    assert span_system(span({"gen_ai.agent.id": "agent"}, both)) == "explicit"
    assert span_system(span({"gen_ai.agent.id": "agent"}, {"service.name": "svc"})) == "agent"
    assert span_system(span({}, {"service.name": "svc"})) == "svc"
    assert span_system(span({}, {})) is None


def test_environment_from_deployment_attribute() -> None:
    """deployment.environment.name on the resource sets the record's environment."""
    resource = {"service.name": "s", "deployment.environment.name": "production"}
    (action,) = span_actions(span({"gen_ai.operation.name": "invoke_agent"}, resource)) or []
    assert action.environment == "production"


def test_the_model_is_the_one_that_answered_else_the_one_asked_for() -> None:
    """gen_ai.response.model wins over gen_ai.request.model; a span naming none has no model."""
    chat = {"gen_ai.operation.name": "chat", "gen_ai.output.messages": "out"}
    both = span({**chat, "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-1"})
    assert [a.fields["model"] for a in span_actions(both) or []] == ["gpt-4o-1", "gpt-4o-1"]
    asked = span({**chat, "gen_ai.request.model": "claude-sonnet"})
    assert [a.fields["model"] for a in span_actions(asked) or []] == ["claude-sonnet"] * 2
    (tool,) = span_actions(span({"gen_ai.operation.name": "execute_tool"})) or []
    assert "model" not in tool.fields
