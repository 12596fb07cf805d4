"""Request bodies that may be JSON or YAML (manifests are usually YAML files), parsed safely.

Nesting is limited to `MAX_DEPTH` levels in both: a 10,000-deep document is a 422 naming the
limit, never a `RecursionError`. YAML is checked on its event stream before any object is
built (the event parser keeps an explicit stack), and anchors/aliases are refused, so an
alias bomb never expands. The body size is enforced while it streams, by `api.limits`.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from fastapi import Request

from domain.errors import InvalidInput, Problem

MAX_DEPTH = 64
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml"})
_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def too_deep(kind: str) -> InvalidInput:
    """The refusal of a document nested deeper than `MAX_DEPTH`."""
    return InvalidInput(
        f"the {kind} body is nested deeper than {MAX_DEPTH} levels",
        [Problem("(body)", f"send a document nested at most {MAX_DEPTH} levels deep")],
    )


def depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (iterative: no recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        if children:
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                return level
            stack.extend((child, level + 1) for child in children)
    return deepest


def parse_json(body: bytes, fix: str = "send a JSON object") -> Any:
    """JSON with a nesting limit; invalid or too deep is an `InvalidInput` on `(body)`."""
    try:
        value = json.loads(body or b"null")
    except RecursionError:
        raise too_deep("JSON") from None
    except ValueError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}", [Problem("(body)", fix)]) from None
    if depth(value) > MAX_DEPTH:
        raise too_deep("JSON")
    return value


def _check_yaml_events(body: bytes) -> None:
    """Refuse YAML nested deeper than `MAX_DEPTH` or using aliases, before building objects."""
    level = 0
    for event in yaml.parse(body, Loader=yaml.SafeLoader):
        if isinstance(event, _OPEN):
            level += 1
            if level > MAX_DEPTH:
                raise too_deep("YAML")
        elif isinstance(event, _CLOSE):
            level -= 1
        elif isinstance(event, yaml.AliasEvent):
            raise InvalidInput(
                "YAML aliases are not accepted",
                [Problem("(body)", f"write the value out instead of the alias *{event.anchor}")],
            )


def parse_yaml(body: bytes) -> Any:
    """YAML (safe types only) with a nesting limit and no aliases."""
    try:
        _check_yaml_events(body)
        return yaml.safe_load(body)
    except yaml.YAMLError as exc:
        raise InvalidInput(
            f"the body is not valid YAML: {exc}",
            [Problem("(body)", "send YAML with Content-Type: application/yaml, or JSON")],
        ) from None


async def read_document(request: Request) -> Any:
    """Parse the body as JSON, or YAML when the content type says so."""
    body = await request.body()
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if kind in YAML_TYPES:
        return parse_yaml(body)
    return parse_json(body, "send a JSON object (or YAML with Content-Type: application/yaml)")
