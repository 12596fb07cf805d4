"""`logging: redacted` masks secrets and personal data; check digits decide cards and IBANs."""

from __future__ import annotations

import pytest

from domain.actions import kept_content
from domain.manifest import ContentLogging
from domain.redaction import iban_valid, luhn_valid, mask_secrets, redact
from tests.secret_corpus import SECRETS, Sample

VALID_CARDS = ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "6011111111111117"]
INVALID_CARDS = ["4111 1111 1111 1112", "5555-5555-5555-4445", "378282246310006"]
VALID_IBANS = [
    "DE89 3704 0044 0532 0130 00",
    "GB82WEST12345698765432",
    "FR1420041010050500013M02606",
]
INVALID_IBANS = ["DE89 3704 0044 0532 0130 01", "GB83WEST12345698765432"]
PHONES = ["+14155550132", "+44 20 7946 0958", "+49 30 901820", "(415) 555-0132", "020 7946 0958"]
SSNS = ["123-45-6789", "078-05-1120"]
NOT_SSNS = ["000-12-3456", "666-12-3456", "123-00-4567"]


@pytest.mark.parametrize("card", VALID_CARDS)
def test_a_luhn_valid_card_number_is_masked(card: str) -> None:
    """A card number whose check digit is right becomes [card]."""
    assert luhn_valid(card.replace(" ", "").replace("-", ""))
    assert redact(f"paid with {card} today") == "paid with [card] today"


@pytest.mark.parametrize("card", INVALID_CARDS)
def test_a_number_failing_luhn_is_kept(card: str) -> None:
    """A 13-19 digit number whose check digit is wrong is not a card and stays visible."""
    assert redact(f"order {card}") == f"order {card}"


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_a_mod97_valid_iban_is_masked(iban: str) -> None:
    """An IBAN whose check digits are right becomes [iban], spaced or compact."""
    assert iban_valid(iban)
    assert redact(f"refund to {iban} please") == "refund to [iban] please"


@pytest.mark.parametrize("iban", INVALID_IBANS)
def test_an_iban_failing_mod97_is_kept(iban: str) -> None:
    """An IBAN-shaped string with wrong check digits stays visible."""
    assert not iban_valid(iban)
    assert "[iban]" not in redact(f"refund to {iban}")


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_are_masked(phone: str) -> None:
    """E.164 and common national formats become [phone]."""
    assert redact(f"call {phone} now") == "call [phone] now"


@pytest.mark.parametrize("ssn", SSNS)
def test_us_social_security_numbers_are_masked(ssn: str) -> None:
    """A US SSN (AAA-GG-SSSS) becomes [ssn]."""
    assert redact(f"ssn {ssn}.") == "ssn [ssn]."


@pytest.mark.parametrize("number", NOT_SSNS)
def test_impossible_ssns_are_kept(number: str) -> None:
    """Area 000/666 or group 00 is never issued, so it is not masked as an SSN."""
    assert "[ssn]" not in redact(f"ref {number}")


def test_email_addresses_are_masked() -> None:
    """E-mail addresses become [email]."""
    assert redact("write to ann.lee+crm@example.co.uk") == "write to [email]"


@pytest.mark.parametrize("sample", SECRETS, ids=lambda s: s.family)
def test_every_corpus_secret_is_masked(sample: Sample) -> None:
    """Each corpus secret is masked inside prose, under redacted and under full."""
    text = f"the agent pasted {sample.value} into the reply"
    for masked in (redact(text), mask_secrets(text)):
        assert "[secret]" in masked and sample.secret not in masked


def test_ordinary_text_is_unchanged() -> None:
    """Dates, versions, amounts and order ids are not personal data and stay as written."""
    text = "Order 44120 on 2026-11-26: refund 120.50 EUR, model claude-3-5-sonnet v2.1.0"
    assert redact(text) == text


def test_the_policy_decides_what_is_kept() -> None:
    """digest keeps no text; redacted masks PII and secrets; full masks secrets but keeps PII."""
    text = "card 4111 1111 1111 1111 mail ann@example.com key ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3"
    assert kept_content(text, ContentLogging.digest, True)[2] is None
    assert kept_content(text, ContentLogging.redacted, True)[2] == (
        "card [card] mail [email] key [secret]"
    )
    assert kept_content(text, ContentLogging.full, True)[2] == (
        "card 4111 1111 1111 1111 mail ann@example.com key [secret]"
    )
