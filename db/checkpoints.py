"""Read chain heads for a checkpoint, and the hashes a checkpoint's heads must still have."""

from __future__ import annotations

from sqlalchemy import Engine

from db.engine import placeholder
from domain.checkpoints import ChainHead, HeadKey

LEDGER_TABLES = {"audit": "audit_entries", "actions": "actions"}
_PAIRS = 200  # (chain, seq) pairs per query


def current_heads(engine: Engine, *, chain_ids: list[str] | None = None) -> list[ChainHead]:
    """Every non-empty chain's head in both ledgers (or only those of `chain_ids`), in one read."""
    query = "SELECT ledger, chain_id, seq, hash FROM chain_heads WHERE seq > 0"
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"{query} ORDER BY ledger, chain_id").all()
    wanted = None if chain_ids is None else set(chain_ids)
    return [
        ChainHead(ledger=str(ledger), chain_id=str(chain), seq=int(seq), hash=str(digest))
        for ledger, chain, seq, digest in rows
        if str(ledger) in LEDGER_TABLES and (wanted is None or str(chain) in wanted)
    ]


def hashes_at(engine: Engine, heads: list[ChainHead]) -> dict[HeadKey, str]:
    """The hash each head's entry has now (absent when the entry is gone)."""
    mark = placeholder(engine.dialect.name)
    found: dict[HeadKey, str] = {}
    with engine.connect() as conn:
        for ledger, table in LEDGER_TABLES.items():
            pairs = [(h.chain_id, h.seq) for h in heads if h.ledger == ledger]
            for lo in range(0, len(pairs), _PAIRS):
                part = pairs[lo : lo + _PAIRS]
                where = " OR ".join([f"(chain_id = {mark} AND seq = {mark})"] * len(part))
                params = tuple(value for pair in part for value in pair)
                query = f"SELECT chain_id, seq, hash FROM {table} WHERE {where}"
                for chain, seq, digest in conn.exec_driver_sql(query, params):
                    found[(ledger, str(chain), int(seq))] = str(digest)
    return found
