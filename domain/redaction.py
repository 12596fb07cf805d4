"""What `logging: redacted` masks in kept content: secrets and personal data.

Secrets (the whole rule set of `domain.secret_rules`), payment card numbers (Luhn-checked),
IBANs (mod-97 checked), US social security numbers, e-mail addresses and phone numbers
(E.164 and common national formats). `mask_secrets` masks secrets only (for `full`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from domain.checkdigits import iban_valid, luhn_valid
from domain.secret_rules import find_secrets

__all__ = ["iban_valid", "luhn_valid", "mask_secrets", "redact"]

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
PHONE = re.compile(
    r"(?<![\w+])\+[1-9]\d{0,2}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\d-])"  # E.164, spaced or not
    r"|(?<![\w(])(?<!\d[ .-])\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\d-])"  # (415) 555-0132
    r"|(?<![\w])(?<!\d[ .-])0\d{1,4}(?:[ .-]\d{2,4}){2,4}(?![\d-])"  # trunk 0: 020 7946 0958
)


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[card]" if 13 <= len(digits) <= 19 and luhn_valid(digits) else match.group(0)


def _iban(match: re.Match[str]) -> str:
    return "[iban]" if iban_valid(match.group(0)) else match.group(0)


def _phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[phone]" if 8 <= len(digits) <= 15 else match.group(0)


_PII: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (EMAIL, lambda _: "[email]"),
    (IBAN, _iban),
    (CARD, _card),
    (SSN, lambda _: "[ssn]"),
    (PHONE, _phone),
)


def mask_secrets(text: str, identifier: bool = False) -> str:
    """`text` with every secret the rule set finds replaced by `[secret]`."""
    for finding in reversed(find_secrets(text, identifier)):
        text = text[: finding.start] + "[secret]" + text[finding.end :]
    return text


def redact(text: str) -> str:
    """Mask secrets, then e-mails, IBANs, card numbers, SSNs and phone numbers."""
    text = mask_secrets(text)
    for pattern, replace in _PII:
        text = pattern.sub(replace, text)
    return text
