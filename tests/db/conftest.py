"""Database fixtures: a migrated engine per backend and builders for projection records.

The `database_url` fixture (tests/conftest.py) is parametrised over SQLite (a tmp_path file)
and PostgreSQL (a fresh schema per test, dropped afterwards; skipped with a clear reason when
PostgreSQL is unreachable, failed when CI is set).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from db.engine import init_db, make_engine
from domain.approvals import ApprovalRequest, RequestKind
from domain.classification import classify
from domain.contracts import AuditEvent, SystemView
from domain.lifecycle import LifecycleState
from domain.manifest import AISystemManifest
from domain.policy import Policy, Role

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated, empty database on the parametrised backend."""
    engine = make_engine(database_url)
    init_db(engine)
    yield engine
    engine.dispose()


def manifest(system_id: str, **fields: Any) -> AISystemManifest:
    """A minimal valid manifest, with any field overridden."""
    data: dict[str, Any] = {
        "id": system_id,
        "name": f"System {system_id}",
        "data_classification": "internal",
        "model": {"provider": "anthropic", "name": "claude", "version": "1"},
    }
    return AISystemManifest.model_validate(data | fields)


def system_view(
    system_id: str,
    *,
    version: int = 1,
    state: LifecycleState = LifecycleState.pilot,
    **fields: Any,
) -> SystemView:
    """A system view at a version, classified under the default policy."""
    declared = manifest(system_id, **fields)
    requirements = classify(declared, Policy(), now=NOW)
    return SystemView(
        system_id=system_id,
        state=state,
        manifest=declared,
        requirements=requirements,
        production_requirements=requirements,
        registered_at=NOW,
        updated_at=NOW + timedelta(minutes=version),
        version=version,
    )


def credential(credential_id: str, environment: str = "pilot") -> dict[str, Any]:
    """A credential entry for a manifest."""
    return {
        "id": credential_id,
        "kind": "api_key",
        "environment": environment,
        "vault_ref": f"vault://kv/{credential_id}",
    }


def approval_request(request_id: str, system_id: str, **fields: Any) -> ApprovalRequest:
    """A pending promotion request needing a business and a technical owner."""
    data: dict[str, Any] = {
        "id": request_id,
        "system_id": system_id,
        "kind": RequestKind.promotion,
        "summary": "promote to production",
        "requester": "rick@example.com",
        "required_roles": [Role.business_owner, Role.technical_owner],
        "eligible": {
            Role.business_owner: ["bea@example.com"],
            Role.technical_owner: ["ted@example.com"],
        },
        "fallback": ["gov@example.com"],
        "opened_at": NOW,
        "escalate_at": NOW + timedelta(days=2),
        "expires_at": NOW + timedelta(days=14),
    }
    return ApprovalRequest.model_validate(data | fields)


def audit_event(system_id: str, n: int, **fields: Any) -> AuditEvent:
    """The n-th audit event of a system (its key is deterministic, so retries repeat it)."""
    data: dict[str, Any] = {
        "event_key": f"ai-system:{system_id}:{n}",
        "system_id": system_id,
        "at": NOW + timedelta(seconds=n),
        "actor": "rick@example.com",
        "action": "registered" if n == 1 else "scope_changed",
        "request_id": f"req-{n}" if n % 2 else None,
        "detail": {"n": n, "text": "héllo", "when": NOW},
    }
    return AuditEvent.model_validate(data | fields)
