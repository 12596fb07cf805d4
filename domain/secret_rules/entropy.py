"""Entropy checks: random-looking runs the rule set has no shape for.

Three candidates, each tested where a person would split it: hex runs (32+), tokens between
separators (20+, so `kv/<token>` and `keyAbC...` glue are seen), and base64 runs read across
`/` (30+, so an AWS secret access key inside `aws/prod/<key>` is seen whole).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator

from domain.checkdigits import iban_like

HEX_RUN = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32,}(?![0-9a-fA-F])")
TOKEN = re.compile(r"[A-Za-z0-9_+~.-]{20,}")
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{30,}={0,2}")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
UUID4_HEX = re.compile(r"^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$")
"""A version-4 UUID without dashes (`uuid4().hex`, a common event id): an id, not a secret."""
# A digest after these words is a content hash (a commit, an image), not a secret.
HASH_CONTEXT = re.compile(
    r"(?i)(?:commit|sha|sha1|sha-1|sha256|sha-256|sha512|rev|revision|digest|checksum|hash"
    r"|git|tree|blob|ref)[\s:=#@-]{0,3}$"
)
_WORDLIKE = re.compile(r"^(?:[a-z]+|[A-Z][a-z]+|[A-Z]+|(?:[A-Z]?[a-z]+)+|v?\d+(?:\.\d+)*)\d{0,4}$")
_PIECES = re.compile(r"[-_.+~/]")
HEX_BITS = 3.0
"""detect-secrets' HexHighEntropyString limit (bits per character)."""
BASE64_BITS = 4.5
"""detect-secrets' Base64HighEntropyString limit, scaled down for short runs."""


def entropy(text: str) -> float:
    """Shannon entropy of a string in bits per character."""
    if not text:
        return 0.0
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in Counter(text).values())


def _limit(length: int) -> float:
    return min(BASE64_BITS, 0.8 * math.log2(length))


def _classes(text: str) -> int:
    return sum(any(test(ch) for ch in text) for test in (str.islower, str.isupper, str.isdigit))


def identifier(text: str) -> bool:
    """True when every piece reads as a word, number or short code (`claude-3-5-sonnet`)."""
    pieces = [piece for piece in _PIECES.split(text) if piece]
    return all(len(piece) <= 6 or _WORDLIKE.match(piece) for piece in pieces)


def random_token(text: str) -> bool:
    """A token of letters and digits that is neither an identifier nor low in entropy."""
    core = text.strip("._-~+")
    if len(core) < 20 or _classes(core) < 2 or identifier(core) or UUID.match(core):
        return False
    if iban_like(core):
        return False  # personal data (redaction masks it), not a secret
    return entropy(core) >= _limit(len(core))


def _hash_context(text: str, start: int, length: int) -> bool:
    return length in (40, 64, 128) and bool(HASH_CONTEXT.search(text[max(0, start - 16) : start]))


def hex_secrets(text: str, identifier: bool = False) -> Iterator[tuple[int, int]]:
    """Spans of hex runs of 32+ that mix letters and digits, unless a hash context names them.

    `identifier`: the text is an id, where exactly 32 hex is a trace id (W3C trace context).
    """
    for match in HEX_RUN.finditer(text):
        run = match.group(0)
        if identifier and len(run) == 32:
            continue
        if not (any(c.isdigit() for c in run) and any(c.isalpha() for c in run)):
            continue
        if UUID4_HEX.match(run) or _hash_context(text, match.start(), len(run)):
            continue
        if entropy(run) >= HEX_BITS:
            yield match.span()


def token_secrets(text: str) -> Iterator[tuple[int, int]]:
    """Spans of random tokens between separators (hex-only tokens are `hex_secrets`' job)."""
    for match in TOKEN.finditer(text):
        token = match.group(0)
        if HEX_RUN.fullmatch(token.strip("._-~+")):
            continue
        if random_token(token):
            yield match.span()


def _segments(run: str) -> Iterator[tuple[int, int]]:
    """(start, end) between slashes, latest start first, then shortest end (the key itself)."""
    cuts = [0] + [i + 1 for i, ch in enumerate(run) if ch == "/"]
    ends = [i for i, ch in enumerate(run) if ch == "/"] + [len(run)]
    for start in reversed(cuts):
        for end in ends:
            if 30 <= end - start <= 128:
                yield start, end


def _random_segment(segment: str) -> bool:
    return (
        _classes(segment) == 3
        and not identifier(segment)
        and entropy(segment) >= _limit(len(segment))
    )


def base64_secrets(text: str) -> Iterator[tuple[int, int]]:
    """Spans of base64 read across `/`: a run between slashes that is random as a whole."""
    for match in BASE64_RUN.finditer(text):
        run = match.group(0).rstrip("=")
        if "/" not in run and "+" not in run:
            continue  # plain tokens are token_secrets' job
        for start, end in _segments(run):
            if _random_segment(run[start:end]):
                start, end = _widen(run, start, end)
                yield match.start() + start, match.start() + end
                break


_PATH_WORD = re.compile(r"^(?:[a-z]+|[A-Z][a-z]+|\d+)$")


def _widen(run: str, start: int, end: int) -> tuple[int, int]:
    """Take in the pieces beside a random segment unless they are path words (`aws`, `prod`)."""
    while start > 0:
        before = run.rfind("/", 0, start - 1) + 1
        if _PATH_WORD.match(run[before : start - 1]):
            break
        start = before
    while end < len(run):
        after = run.find("/", end + 1)
        after = len(run) if after < 0 else after
        if _PATH_WORD.match(run[end + 1 : after]):
            break
        end = after
    return start, end
