"""Check digits that tell a real card number or IBAN from a look-alike."""

from __future__ import annotations

import re

IBAN_SHAPE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")


def luhn_valid(digits: str) -> bool:
    """True when a card number's check digit is right (ISO/IEC 7812)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """True when an IBAN's check digits are right (ISO 13616 mod 97)."""
    compact = iban.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return len(compact) >= 15 and int(number) % 97 == 1


def iban_like(token: str) -> bool:
    """True when a compact token is an IBAN with valid check digits."""
    return bool(IBAN_SHAPE.match(token)) and iban_valid(token)
