"""Request bodies that may be JSON or YAML (manifests are usually YAML files)."""

from __future__ import annotations

import json
from typing import Any

import yaml
from fastapi import Request

from domain.errors import InvalidInput, Problem
from domain.secrets import scrub

MAX_BODY = 1_000_000


async def read_document(request: Request) -> Any:
    """Parse the body as JSON, or YAML when the content type says so."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise InvalidInput("body too large", [Problem("(body)", f"send at most {MAX_BODY} bytes")])
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip()
    try:
        if kind in {"application/yaml", "application/x-yaml", "text/yaml"}:
            return yaml.safe_load(body)
        return json.loads(body or b"null")
    except (ValueError, yaml.YAMLError) as exc:
        raise InvalidInput(
            f"the body is not valid {'YAML' if 'yaml' in kind else 'JSON'}: {scrub(str(exc))}",
            [Problem("(body)", "send a JSON object (or YAML with Content-Type: application/yaml)")],
        ) from None
