"""API tokens: shown once, stored only as a hash, verified in constant time, revocable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from db.tables import TokenRow
from db.tokens import issue_token, list_tokens, revoke_token, token_digest, verify_token


def test_issued_token_verifies_until_revoked(engine: Engine) -> None:
    """A fresh token verifies to its principal and role; once revoked it no longer verifies."""
    with Session(engine) as session:
        row, token = issue_token(session, principal="Ann@Example.com", role="approver", label="ci")
        session.commit()
        assert token.startswith(f"thr_{row.id}_")
    with Session(engine) as session:
        found = verify_token(session, token=token)
        assert found is not None
        assert (found.principal, found.role, found.label) == ("ann@example.com", "approver", "ci")
        assert found.last_used_at is not None
        session.commit()
        assert verify_token(session, token=token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert verify_token(session, token="thr_nope") is None
        assert revoke_token(session, token_id=row.id)
        assert not revoke_token(session, token_id=row.id)
        assert not revoke_token(session, token_id="unknown")
        session.commit()
    with Session(engine) as session:
        assert verify_token(session, token=token) is None


def test_only_the_hash_is_stored_and_never_shown(engine: Engine) -> None:
    """The database holds the SHA-256 of the token, never the plaintext, and rows hide the hash."""
    with Session(engine) as session:
        row, token = issue_token(session, principal="ann@example.com", role="viewer")
        session.commit()
        listed = list_tokens(session)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT * FROM api_tokens")).one()._asdict()
    assert stored["token_hash"] == token_digest(token) != token
    assert all(token not in str(value) for value in stored.values())
    assert [t.id for t in listed] == [row.id]
    assert "token_hash" not in listed[0].model_dump()
    assert token_digest(token) not in repr(listed[0])


def test_last_used_is_written_at_most_once_a_minute(engine: Engine) -> None:
    """Verifying a token many times within a minute records its use only once."""
    with Session(engine) as session:
        row, token = issue_token(session, principal="ann@example.com", role="viewer")
        session.commit()
        first = verify_token(session, token=token)
        assert first is not None and first.last_used_at is not None
        stamp = first.last_used_at
        session.commit()
        again = verify_token(session, token=token)
        assert again is not None and again.last_used_at == stamp
        again.last_used_at = stamp - timedelta(minutes=2)
        session.commit()
        later = verify_token(session, token=token)
        assert later is not None and later.last_used_at is not None
        assert later.last_used_at > stamp - timedelta(minutes=2)
        assert isinstance(session.get(TokenRow, row.id), TokenRow)


@pytest.mark.parametrize(
    ("principal", "role", "message"),
    [
        ("ann@example.com", "root", "use one of admin, approver, emitter, viewer"),
        ("not-an-email", "viewer", "is not an email address"),
    ],
)
def test_unknown_role_or_bad_principal_is_refused(
    engine: Engine, principal: str, role: str, message: str
) -> None:
    """Issuing a token for an unknown role or a non-email principal fails with a clear error."""
    with Session(engine) as session, pytest.raises(ValueError, match=message):
        issue_token(session, principal=principal, role=role)
