"""Secret detection at the edges: refuse a secret where a reference or free text belongs.

The rule set and entropy checks live in `domain.secret_rules`; this module turns findings into
refusals that name the field and the rule and show at most a fingerprint (first 4 characters
and a SHA-256 prefix, `AKIA…sha256:1a2b3c4d`), never the value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import AfterValidator

from domain.errors import InvalidInput, Problem
from domain.secret_rules import Finding, find_secrets
from domain.secret_rules.entropy import entropy

__all__ = [
    "SECRET_HINT",
    "FreeText",
    "NotSecret",
    "entropy",
    "fingerprint",
    "masked",
    "refuse_secrets",
    "scrub",
    "secret_kind",
    "secret_message",
    "secret_paths",
    "secret_problems",
    "shown",
]

SECRET_HINT = "looks like a secret value"
REFERENCE_FIX = "give a reference to where it lives instead (e.g. vault://kv/app/key)"
TEXT_FIX = "remove it (write the reference to where it lives, never the value)"


def fingerprint(secret: str) -> str:
    """At most what a refusal shows of a secret: 4 characters and a SHA-256 prefix."""
    digest = hashlib.sha256(secret.encode()).hexdigest()[:8]
    return f"{secret[:4]}…sha256:{digest}"


def first_secret(value: str, identifier: bool = False) -> Finding | None:
    """The first secret found in `value` (an id when `identifier`), or None."""
    found = find_secrets(value, identifier)
    return found[0] if found else None


def secret_kind(value: str, identifier: bool = False) -> str | None:
    """What kind of secret `value` holds (its rule's label), or None."""
    finding = first_secret(value, identifier)
    return finding.label if finding is not None else None


def _describe(value: str, finding: Finding) -> str:
    secret = value[finding.start : finding.end]
    return f"{SECRET_HINT} ({finding.label}, rule {finding.rule}, {fingerprint(secret)})"


def secret_message(value: str, fix: str = REFERENCE_FIX, identifier: bool = False) -> str | None:
    """The refusal for a value holding a secret (rule and fingerprint only), or None."""
    finding = first_secret(value, identifier)
    if finding is None:
        return None
    return f"{_describe(value, finding)}; Threshold never accepts secrets: {fix}"


def text_message(value: str) -> str | None:
    """The refusal for free text holding a secret, or None."""
    return secret_message(value, TEXT_FIX)


def check_text(value: str) -> str:
    message = text_message(value)
    if message is not None:
        raise ValueError(message)
    return value


def _no_secret_value(value: str) -> str:
    message = secret_message(value)
    if message is not None:
        raise ValueError(message)
    return value


FreeText = Annotated[str, AfterValidator(check_text)]
"""A free-text field (a reason, a comment, a description): refused when it holds a secret."""
NotSecret = Annotated[str, AfterValidator(_no_secret_value)]
"""A field that names or references a credential (an id, a scope): refused when it is one."""


def secret_problems(fields: dict[str, object], fix: str = REFERENCE_FIX) -> list[Problem]:
    """A problem for each field (or list item) whose value holds a secret."""
    problems: list[Problem] = []
    for name, value in fields.items():
        items: Iterable[object] = value if isinstance(value, list) else [value]
        for item in items:
            message = secret_message(str(item), fix) if item else None
            if message is not None:
                problems.append(Problem(name, message))
    return problems


def _join(prefix: str, key: object) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    name = scrub(str(key))
    return f"{prefix}.{name}" if prefix else name


def secret_paths(data: object, prefix: str = "") -> list[Problem]:
    """A problem for each string anywhere in nested data (keys too) that holds a secret."""
    if isinstance(data, dict):
        found = [Problem(_join(prefix, k), msg) for k in data if (msg := secret_message(str(k)))]
        for key, value in data.items():
            found += secret_paths(value, _join(prefix, key))
        return found
    if isinstance(data, list):
        return [
            p for index, item in enumerate(data) for p in secret_paths(item, _join(prefix, index))
        ]
    if isinstance(data, str) and (message := secret_message(data)) is not None:
        return [Problem(prefix or "(value)", message)]
    return []


def refuse_secrets(fields: dict[str, object], fix: str = REFERENCE_FIX) -> None:
    """Raise `InvalidInput` naming every field whose value holds a secret (never echoing it)."""
    problems = secret_problems(fields, fix)
    if problems:
        raise InvalidInput(
            "refused: " + "; ".join(f"{p.field}: {p.message}" for p in problems), problems
        )


def scrub(text: str) -> str:
    """`text` with every secret in it replaced by its fingerprint (for any message shown)."""
    found = find_secrets(text)
    for finding in reversed(found):
        secret = text[finding.start : finding.end]
        text = text[: finding.start] + f"[{fingerprint(secret)}]" + text[finding.end :]
    return text


def masked(value: str, identifier: bool = False) -> str:
    """`value` itself, or only its fingerprint when it holds a secret anywhere."""
    return fingerprint(value) if find_secrets(value, identifier) else value


def shown(value: Any) -> str:
    """How an invalid input is quoted in a message: repr, or a fingerprint if it holds a secret."""
    if isinstance(value, dict | list):
        return type(value).__name__
    text = repr(value)
    return scrub(text) if find_secrets(text) else text
