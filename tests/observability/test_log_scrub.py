"""Logs never carry a secret: messages, access-log URLs and tracebacks are scrubbed per line."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from pydantic import BaseModel, ValidationError

from core.logging import JsonFormatter, ScrubbingFormatter, TextFormatter
from tests.secret_corpus import SECRETS, Sample, leaked


class Strict(BaseModel):
    """A model whose validation error quotes its input (as pydantic's do)."""

    port: int


def record_with(sample: Sample) -> logging.LogRecord:
    """An access-log-like record with the secret in its args and in the exception it carries."""
    try:
        Strict.model_validate({"port": sample.value})
    except ValidationError:
        exc_info = sys.exc_info()
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/1.1" %d',
        ("127.0.0.1:5000", "POST", f"/api/v1/x?key={sample.value}", 422),
        exc_info,
    )


@pytest.mark.parametrize("sample", SECRETS, ids=lambda s: s.family)
def test_json_and_text_lines_hold_no_corpus_secret(sample: Sample) -> None:
    """Each corpus secret logged in a URL and a ValidationError is only fingerprinted."""
    line = ScrubbingFormatter(JsonFormatter()).format(record_with(sample))
    entry = json.loads(line)
    assert entry["logger"] == "uvicorn.access" and "ValidationError" in entry["error"]
    assert "input_value=[not logged]" in entry["error"]
    assert leaked(sample, line) == [], sample.family
    text = ScrubbingFormatter(TextFormatter()).format(record_with(sample))
    assert "POST /api/v1/x?key=" in text and leaked(sample, text) == [], sample.family


def test_lines_without_secrets_are_unchanged() -> None:
    """A line with no secret is exactly what the inner formatter wrote."""
    plain = logging.LogRecord(
        "threshold", logging.INFO, __file__, 1, "registered %s", ("a-b",), None
    )
    assert ScrubbingFormatter(TextFormatter()).format(plain) == TextFormatter().format(plain)
