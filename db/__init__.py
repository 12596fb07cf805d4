"""Persistence: the query projection, the hash-chained audit ledger and API tokens.

Functions that take a `Session` never commit (the caller owns the transaction); functions
that take an `Engine` run their own. Errors are SQLAlchemy's, raised unchanged: Temporal
retries the activities that write here.
"""

from db.engine import get_engine, init_db, make_engine
from db.ledger import append_events, list_events, verify_chains
from db.projection import apply_batch, commit_batch
from db.verify import BrokenEntry, VerifyReport

__all__ = [
    "BrokenEntry",
    "VerifyReport",
    "append_events",
    "apply_batch",
    "commit_batch",
    "get_engine",
    "init_db",
    "list_events",
    "make_engine",
    "verify_chains",
]
