"""Secret detection: the rule set (`rules.RULES`, as data with provenance) plus entropy checks.

`find_secrets(text)` gives every `Finding` (rule id, label, span of the secret part); the
façade in `domain.secrets` turns findings into refusals, fingerprints and redactions.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from domain.secret_rules.entropy import base64_secrets, hex_secrets, random_token, token_secrets
from domain.secret_rules.rules import RULES, Check, Rule

__all__ = ["ENTROPY_RULES", "RULES", "Check", "Finding", "Rule", "find_secrets"]


@dataclass(frozen=True)
class Finding:
    """One secret found: which rule, what it is, where the secret part starts and ends."""

    rule: str
    label: str
    start: int
    end: int


# The entropy checks as rules for refusals and docs; `pattern` only shows the candidate shape
# (the checks themselves are in `entropy.py`).
ENTROPY_RULES: tuple[Rule, ...] = (
    Rule(
        "entropy-hex",
        "a random hex secret",
        r"[0-9a-f]{32,}",
        "detect-secrets:HexHighEntropyString (3.0 bits; 40/64/128 hex after commit, sha, rev, "
        "digest... pass as hashes)",
    ),
    Rule(
        "entropy-base64-path",
        "a random key split by '/'",
        r"[A-Za-z0-9+/]{30,}",
        "detect-secrets:Base64HighEntropyString (4.5 bits) read across '/' "
        "(AWS secret access keys)",
    ),
    Rule(
        "entropy-token",
        "a random key or token",
        r"[A-Za-z0-9_+~.-]{20,}",
        "detect-secrets:Base64HighEntropyString (4.5 bits, scaled for short runs) on each token "
        "between separators (path segments, glued text)",
    ),
)
_PLACEHOLDER = re.compile(
    r"^(?:\*+|x+|\.+|<[^>]*>|\$\{?[A-Za-z_][\w.]*\}?|\{\{.*\}\}|%\w+%|none|null|redacted|"
    r"changeme|example|true|false|required|optional)$",
    re.I,
)
_PLAIN_WORDS = re.compile(r"^[a-z][a-z_.*-]*$")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)+$")
"""A lower-case dotted or dashed name (`support-assistant-crm-reader`): an id, not a secret."""


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _assignment(match: re.Match[str]) -> bool:
    """`password=...` counts unless the value is a reference or placeholder; `:` needs more."""
    value = match.group("secret").strip("\"'").rstrip(").]}>")
    if "://" in value or _PLACEHOLDER.match(value):
        return False
    if match.group("sep") == ":":
        plain = _PLAIN_WORDS.match(value) or _IDENTIFIER.match(value)
        return len(value) >= 6 and "/" not in value and not plain
    return True


def _basic(match: re.Match[str]) -> bool:
    """`Basic <base64>` counts only when it decodes to `user:password`."""
    value = match.group("secret")
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


_CHECKS: dict[Check, Callable[[re.Match[str]], bool]] = {
    Check.none: lambda _: True,
    Check.assignment: _assignment,
    Check.basic_credentials: _basic,
}


def _span(match: re.Match[str]) -> tuple[int, int]:
    if "secret" in match.re.groupindex and match.group("secret") is not None:
        return match.span("secret")
    return match.span()


def _matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """Every match, overlapping ones too (`token=client_secret: x` holds two assignments)."""
    position = 0
    while (match := pattern.search(text, position)) is not None:
        yield match
        position = match.start() + 1


_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")
_GROUP = re.compile(r"\(\?P<(\w+)>")


def _alternative(index: int, pattern: str) -> str:
    """A rule's pattern as one branch of `_ANY_RULE`: flags scoped, group names made unique."""
    pattern = _GROUP.sub(lambda m: f"(?P<{m.group(1)}_{index}>", pattern)
    flags = _FLAGS.match(pattern)
    if flags is None:
        return f"(?:{pattern})"
    return f"(?{flags.group(1)}:{pattern[flags.end() :]})"


_ANY_RULE = re.compile("|".join(_alternative(i, rule.pattern) for i, rule in enumerate(RULES)))
"""Every rule's pattern in one: text it finds nothing in holds no rule's match (a prefilter)."""


def _rule_findings(text: str) -> Iterator[Finding]:
    if _ANY_RULE.search(text) is None:  # one scan instead of one per rule, for most text
        return
    for rule in RULES:
        for match in _matches(_compiled(rule.pattern), text):
            if _CHECKS[rule.check](match):
                yield Finding(rule.id, rule.label, *_span(match))


def _entropy_findings(text: str, identifier: bool) -> Iterator[Finding]:
    hexes, paths, tokens = ENTROPY_RULES
    for rule, spans in (
        (hexes, hex_secrets(text, identifier)),
        (paths, base64_secrets(text)),
        (tokens, token_secrets(text)),
    ):
        for start, end in spans:
            yield Finding(rule.id, rule.label, start, end)


def _merged(findings: list[tuple[int, Finding]]) -> list[Finding]:
    """Overlapping findings become one covering both, named by the higher-priority rule."""
    out: list[tuple[int, Finding]] = []
    for rank, finding in sorted(findings, key=lambda pair: pair[1].start):
        if out and finding.start < out[-1][1].end:
            best_rank, best = out[-1]
            end = max(best.end, finding.end)
            if rank < best_rank:
                out[-1] = (rank, Finding(finding.rule, finding.label, best.start, end))
            else:
                out[-1] = (best_rank, Finding(best.rule, best.label, best.start, end))
        else:
            out.append((rank, finding))
    return [finding for _, finding in out]


def find_secrets(text: str, identifier: bool = False) -> list[Finding]:
    """Every secret in `text`, in order; overlapping hits are merged (rules before entropy).

    `identifier`: `text` is an id (an event id, a trace id), where a 32-hex run is a trace id.
    """
    found = [*_rule_findings(text), *_entropy_findings(text, identifier)]
    return _merged(list(enumerate(found)))


def looks_random(text: str) -> bool:
    """True when `text` as a whole is a random token (for callers that test one value)."""
    return random_token(text)
