"""Authentication at the edges: throttled guessing, write rates, expiry, the last admin,
revocation across processes, idempotent issue."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.settings import Settings
from db.engine import get_engine
from db.tokens import issue_token
from domain.access import SECURITY_CHAIN
from tests.e2e.dashboard import browser, sign_in
from tests.harness import REQUESTER, make_settings, running_stack

pytestmark = pytest.mark.devserver
ADMIN = "admin@threshold.local"


def tuned(tmp_path: Path, database_url: str = "", **api: object) -> Settings:
    """Test settings with some `api` fields changed."""
    settings = make_settings(database_url or f"sqlite:///{tmp_path}/t.db", tmp_path)
    return settings.model_copy(update={"api": settings.api.model_copy(update=api)})


def bearer(token: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {token}"}


async def test_failed_tokens_are_throttled_per_address_and_token_id_and_audited_once(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """After the limit of wrong tokens, 429 with Retry-After per address and per token id,
    and the burst is one `auth_throttled` entry in the audit ledger."""
    settings = tuned(tmp_path, database_url, auth_failures_per_minute=5)
    async with running_stack(dev_env.client, settings) as stack:
        known_id = stack.tokens[REQUESTER].split("_")[1]
        for attempt in range(12):
            guess = f"thr_{known_id}_{'x' * 30}{attempt:02d}"
            answer = await stack.http.get("/api/v1/systems", headers=bearer(guess))
            assert answer.status_code == (401 if attempt < 5 else 429), attempt
        assert int(answer.headers["Retry-After"]) > 0
        assert stack.app is not None
        other = httpx.ASGITransport(app=stack.app, client=("10.1.2.3", 4000))
        async with httpx.AsyncClient(transport=other, base_url="http://threshold") as elsewhere:
            guess = f"thr_{known_id}_{'y' * 32}"
            by_token_id = await elsewhere.get("/api/v1/systems", headers=bearer(guess))
            assert by_token_id.status_code == 429
            unrelated = await elsewhere.get("/api/v1/systems", headers=bearer("not-a-token"))
            assert unrelated.status_code == 401
            admin = stack.as_(ADMIN)  # the blocked address is refused even a valid token
            params = {"system": SECURITY_CHAIN}
            entries = await elsewhere.get("/api/v1/audit/events", headers=admin, params=params)
            actors = sorted(e["actor"] for e in entries.json() if e["action"] == "auth_throttled")
            assert actors == ["address 127.0.0.1", f"token {known_id}"]
            verified = await elsewhere.get("/api/v1/audit/verify", headers=admin)
            assert verified.json()["ok"] is True
        assert (await stack.call("GET", "/systems", "viewer@example.com")).status_code == 429


async def test_writes_are_rate_limited_per_token_with_retry_after(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Past a token's write burst, writes answer 429 with Retry-After; reads still pass."""
    settings = tuned(tmp_path, write_rate_per_second=0.1, write_burst=3)
    async with running_stack(dev_env.client, settings) as stack:
        statuses = [
            (await stack.call("POST", "/actions", REQUESTER, json=[])).status_code for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        limited = await stack.call("POST", "/actions", REQUESTER, json=[])
        assert int(limited.headers["Retry-After"]) >= 1
        assert (await stack.call("GET", "/systems", REQUESTER)).status_code == 200
        assert (await stack.call("POST", "/actions", ADMIN, json=[])).status_code == 200


async def test_tokens_expire_by_default_and_the_maximum_is_enforced(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """Non-admin tokens expire after 90 days unless `expires` says less; past the maximum is
    a 422 naming `expires`; an expired token is refused; last use shows in the list."""
    settings = make_settings(database_url, tmp_path)
    async with running_stack(dev_env.client, settings) as stack:
        body = {"principal": "v@example.com", "role": "viewer"}
        default = (await stack.call("POST", "/tokens", ADMIN, json=body)).json()
        lifetime = datetime.fromisoformat(default["expires_at"]) - datetime.now(UTC)
        assert timedelta(days=89) < lifetime <= timedelta(days=90)
        short = (await stack.call("POST", "/tokens", ADMIN, json=body | {"expires": "12h"})).json()
        lifetime = datetime.fromisoformat(short["expires_at"]) - datetime.now(UTC)
        assert timedelta(hours=11) < lifetime <= timedelta(hours=12)
        too_long = await stack.call("POST", "/tokens", ADMIN, json=body | {"expires": "400d"})
        assert too_long.status_code == 422
        assert too_long.json()["error"]["problems"][0]["field"] == "expires"

        with Session(get_engine(settings.database_url)) as session:
            past = datetime.now(UTC) - timedelta(seconds=1)
            _, expired = issue_token(
                session, principal="old@example.com", role="viewer", expires_at=past
            )
            session.commit()
        refused = await stack.http.get("/api/v1/systems", headers=bearer(expired))
        assert refused.status_code == 401
        assert "expired" in refused.json()["error"]["message"]
        assert (await stack.http.get("/api/v1/systems", headers=bearer(short["token"]))).is_success
        listed = {t["id"]: t for t in (await stack.call("GET", "/tokens", ADMIN)).json()}
        assert listed[short["id"]]["last_used_at"] is not None
        assert listed[default["id"]]["last_used_at"] is None


async def test_the_last_active_admin_token_cannot_be_revoked(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """Revoking the only live admin token is a 409 saying why; with a second admin it works."""
    settings = make_settings(database_url, tmp_path)
    async with running_stack(dev_env.client, settings) as stack:
        admin_id = stack.tokens[ADMIN].split("_")[1]
        refused = await stack.call("DELETE", f"/tokens/{admin_id}", ADMIN)
        assert refused.status_code == 409
        assert "last active admin" in refused.json()["error"]["message"]
        second = await stack.call(
            "POST", "/tokens", ADMIN, json={"principal": "ops@example.com", "role": "admin"}
        )
        assert (await stack.call("DELETE", f"/tokens/{admin_id}", ADMIN)).status_code == 204
        last = second.json()
        refused = await stack.http.delete(
            f"/api/v1/tokens/{last['id']}", headers=bearer(last["token"])
        )
        assert refused.status_code == 409


async def test_a_revocation_reaches_another_api_process_within_a_second(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A token revoked through one API process is refused by another one a second later."""
    settings = make_settings(database_url, tmp_path)
    async with running_stack(dev_env.client, settings) as stack:
        other = create_app(settings, dev_env.client)
        async with other.router.lifespan_context(other):
            transport = httpx.ASGITransport(app=other)
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as process_b:
                headers = stack.as_(REQUESTER)
                assert (await process_b.get("/api/v1/systems", headers=headers)).status_code == 200
                token_id = stack.tokens[REQUESTER].split("_")[1]
                assert (await stack.call("DELETE", f"/tokens/{token_id}", ADMIN)).status_code == 204
                await asyncio.sleep(1.05)
                assert (await process_b.get("/api/v1/systems", headers=headers)).status_code == 401


async def test_issuing_a_token_honours_the_idempotency_key(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """The same Idempotency-Key issues one token: the repeat is a 200 with its id and no value;
    the key reused for another token is a 409."""
    settings = make_settings(database_url, tmp_path)
    async with running_stack(dev_env.client, settings) as stack:
        body = {"principal": "ci@example.com", "role": "emitter", "label": "ci"}
        key = {"Idempotency-Key": "issue-ci-1"}
        first = await stack.call("POST", "/tokens", ADMIN, json=body, headers=key)
        again = await stack.call("POST", "/tokens", ADMIN, json=body, headers=key)
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["token"] is None and again.json()["repeat"] is True
        assert "shown only at first issue" in again.json()["message"]
        listed = (await stack.call("GET", "/tokens", ADMIN)).json()
        assert [t["id"] for t in listed if t["principal"] == "ci@example.com"] == [
            first.json()["id"]
        ]
        other = await stack.call(
            "POST", "/tokens", ADMIN, json=body | {"role": "viewer"}, headers=key
        )
        assert other.status_code == 409


async def test_dashboard_sign_in_is_throttled_like_the_api(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Wrong tokens on the dashboard sign-in form count too: past the limit it answers 429."""
    settings = tuned(tmp_path, auth_failures_per_minute=3)
    async with running_stack(dev_env.client, settings) as stack, browser(stack) as http:
        statuses = [(await sign_in(http, f"thr_wrong{i}")).status_code for i in range(4)]
        assert statuses == [401, 401, 401, 429]
        blocked = await sign_in(http, stack.tokens[REQUESTER])
        assert blocked.status_code == 429
        assert int(blocked.headers["Retry-After"]) > 0
