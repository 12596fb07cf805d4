"""`Email`: pydantic's email check, remembered per address (the same few owners recur)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema
from pydantic.networks import validate_email


@lru_cache(maxsize=4096)
def normalized_email(value: str) -> str:
    """The address as `EmailStr` normalizes it; invalid ones raise (and are not remembered)."""
    return validate_email(value)[1]


# Validates and normalizes exactly like `EmailStr` (same errors, same JSON schema), but each
# distinct address is parsed once per process: every command, result and policy carries the
# same owners and role-group members, and email-validator is a large share of decoding them.
Email = Annotated[
    str,
    AfterValidator(normalized_email),
    WithJsonSchema({"type": "string", "format": "email"}),
]
