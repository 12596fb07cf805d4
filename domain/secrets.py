"""Secret detection: refuse anything that looks like a secret value where a reference belongs.

Two signals, either enough: a known token prefix or shape (`sk-`, `ghp_`, `github_pat_`,
`xox[abp]-`, `AKIA`, `glpat-`, JWTs `eyJ…`, PEM headers), or a long run of high-entropy
characters with no path or scheme structure. Used on every credential input and reference.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from domain.errors import InvalidInput, Problem

KNOWN_SECRETS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a PEM private key or certificate", re.compile(r"-----BEGIN [A-Z0-9 ]+-----")),
    ("an OpenAI/Anthropic-style API key (sk-)", re.compile(r"\bsk-[A-Za-z0-9_-]{16,}")),
    ("a Stripe-style key (sk_live_/sk_test_)", re.compile(r"\b[sr]k_(live|test)_[A-Za-z0-9]{10,}")),
    ("a GitHub token (ghp_/gho_/ghs_/ghu_)", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}")),
    ("a GitHub fine-grained token (github_pat_)", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}")),
    ("a Slack token (xoxb-/xoxa-/xoxp-)", re.compile(r"\bxox[abpsr]-[A-Za-z0-9-]{10,}")),
    ("an AWS access key id (AKIA…)", re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("a GitLab token (glpat-)", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("a JSON Web Token (eyJ…)", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.")),
    ("a Google API key (AIza…)", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("a bearer token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{16,}")),
    ("a password in a URL", re.compile(r"://[^/\s:@]+:[^/\s@]+@")),
)
TOKEN_RUN = re.compile(r"[A-Za-z0-9+=_-]{24,}")
MIN_ENTROPY_BITS = 4.0
"""Shannon entropy per character above which a long token run reads as random (a secret)."""


def entropy(text: str) -> float:
    """Shannon entropy of a string in bits per character."""
    if not text:
        return 0.0
    counts = Counter(text)
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def secret_kind(value: str) -> str | None:
    """What kind of secret `value` looks like, or None when it looks like no secret."""
    for kind, pattern in KNOWN_SECRETS:
        if pattern.search(value):
            return kind
    for run in TOKEN_RUN.findall(value):
        mixed = sum(bool(re.search(p, run)) for p in ("[a-z]", "[A-Z]", "[0-9]")) >= 3
        if mixed and entropy(run) >= MIN_ENTROPY_BITS:
            return "a high-entropy string (a random key or token)"
    return None


def secret_message(value: str) -> str | None:
    """The refusal for a value that looks like a secret (never echoing it), or None."""
    kind = secret_kind(value)
    if kind is None:
        return None
    return (
        f"this looks like a secret value ({kind}); Threshold never accepts secrets: give a "
        "reference to where it lives instead (e.g. vault://kv/app/key)"
    )


def secret_problems(fields: dict[str, object]) -> list[Problem]:
    """A problem for each field (or list item) whose value looks like a secret."""
    problems: list[Problem] = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            message = secret_message(str(item)) if item else None
            if message is not None:
                problems.append(Problem(name, message))
    return problems


def refuse_secrets(fields: dict[str, object]) -> None:
    """Raise `InvalidInput` naming every field whose value looks like a secret."""
    problems = secret_problems(fields)
    if problems:
        raise InvalidInput(
            "refused: " + "; ".join(f"{p.field}: {p.message}" for p in problems), problems
        )
