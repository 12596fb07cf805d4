"""Ledger hash chaining: any change to an entry or its predecessor changes the hash."""

from __future__ import annotations

import pytest

from domain.ledger import GENESIS, canonical, chain_hash, entry_hash

FIELDS = ["1", "2026-11-26T10:00:00+00:00", "promotion_requested", "support-assistant", "rick"]


def test_chain_hash_is_deterministic() -> None:
    """The same entry after the same predecessor always hashes the same (verification works)."""
    assert chain_hash(GENESIS, canonical(FIELDS)) == chain_hash(GENESIS, canonical(list(FIELDS)))
    assert len(chain_hash(GENESIS, canonical(FIELDS))) == 64


@pytest.mark.parametrize("index", range(len(FIELDS)))
def test_changing_any_field_changes_the_hash(index: int) -> None:
    """Tampering with any single field of an entry changes its hash."""
    tampered = list(FIELDS)
    tampered[index] += "x"
    assert chain_hash(GENESIS, canonical(tampered)) != chain_hash(GENESIS, canonical(FIELDS))


def test_changing_the_previous_hash_changes_the_hash() -> None:
    """An entry's hash depends on its predecessor, so rewriting history breaks the chain."""
    body = canonical(FIELDS)
    first = chain_hash(GENESIS, canonical(["0"]))
    assert chain_hash(first, body) != chain_hash(GENESIS, body)


def test_field_boundaries_are_part_of_the_hash() -> None:
    """Moving text across a field boundary changes the hash (fields are not just concatenated)."""
    assert chain_hash(GENESIS, canonical(["ab", "c"])) != chain_hash(
        GENESIS, canonical(["a", "bc"])
    )


def test_entry_hash_is_chain_hash_over_the_canonical_fields() -> None:
    """The one-pass hash the ledger uses is exactly chain_hash over canonical(fields)."""
    fields = ("sys-a", "7", "2026-11-26T10:00:00.000000+00:00", "a@b.c", "approved", "", "{}")
    digest = entry_hash(GENESIS, fields[0], 7, *fields[2:])
    assert digest == chain_hash(GENESIS, canonical(fields))
