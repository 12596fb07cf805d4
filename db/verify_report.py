"""What a ledger verification reports: every broken chain, and every erased entry."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class BrokenEntry(BaseModel):
    """Where a chain first fails verification and why."""

    model_config = ConfigDict(frozen=True)
    ledger: str = "audit"
    chain_id: str
    seq: int
    entry_id: int | None
    problem: str


class ErasedEntry(BaseModel):
    """An entry whose content was erased, and the ledger entry that records the erasure."""

    model_config = ConfigDict(frozen=True)
    ledger: str = "audit"
    chain_id: str
    seq: int
    erased_at: str | None
    erased_by: str | None
    erasure_seq: int


class VerifyReport(BaseModel):
    """The outcome of recomputing the ledger's chains: every broken chain, every erasure."""

    model_config = ConfigDict(frozen=True)
    ok: bool
    entries_checked: int
    chains_checked: int
    first_broken: BrokenEntry | None = None
    broken: list[BrokenEntry] = Field(
        default_factory=list, description="the first broken entry of every broken chain"
    )
    entries_erased: int = 0
    erased: list[ErasedEntry] = Field(default_factory=list)


def report(
    entries: int, chains: int, broken: list[BrokenEntry], erased: list[ErasedEntry]
) -> VerifyReport:
    """A report over these findings (`first_broken` is the first of `broken`)."""
    return VerifyReport(
        ok=not broken,
        entries_checked=entries,
        chains_checked=chains,
        first_broken=broken[0] if broken else None,
        broken=broken,
        entries_erased=len(erased),
        erased=erased,
    )
