"""Token lifetimes and the last-admin rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.access import refuse_last_admin, token_expiry
from domain.errors import Conflict, InvalidInput

NOW = datetime(2026, 12, 2, tzinfo=UTC)
LIMITS = {"default_days": 90, "max_days": 365}


def test_non_admin_tokens_default_to_90_days_and_admin_tokens_to_never() -> None:
    """Without `expires` a viewer token lives 90 days and an admin token does not expire."""
    assert token_expiry("viewer", None, NOW, **LIMITS) == NOW + timedelta(days=90)
    assert token_expiry("admin", None, NOW, **LIMITS) is None


def test_a_requested_lifetime_is_kept_within_the_maximum() -> None:
    """`expires` is honoured up to the maximum; zero or beyond it is refused naming `expires`."""
    assert token_expiry("admin", timedelta(days=30), NOW, **LIMITS) == NOW + timedelta(days=30)
    for bad in (timedelta(0), timedelta(days=366)):
        with pytest.raises(InvalidInput) as refused:
            token_expiry("emitter", bad, NOW, **LIMITS)
        assert refused.value.problems[0].field == "expires"


def test_only_the_last_live_admin_is_protected() -> None:
    """Revoking the only live admin is a conflict; another admin, or a non-admin, is fine."""
    with pytest.raises(Conflict, match="last active admin"):
        refuse_last_admin("admin", 1)
    refuse_last_admin("admin", 2)
    refuse_last_admin("viewer", 1)
