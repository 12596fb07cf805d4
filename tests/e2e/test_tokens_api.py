"""Token administration through the API: issue once, authenticate, revoke, refuse non-admins."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.harness import REQUESTER, make_settings, running_stack

ADMIN = "admin@threshold.local"


async def test_issued_token_works_until_revoked(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """An admin issues a token that authenticates at once and is refused right after revocation."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    async with running_stack(dev_env.client, settings) as stack:
        issued = await stack.call(
            "POST", "/tokens", ADMIN, json={"principal": "Nia.New@Example.com", "role": "viewer"}
        )
        assert issued.status_code == 201, issued.text
        body = issued.json()
        assert body["principal"] == "nia.new@example.com"
        headers = {"Authorization": f"Bearer {body['token']}"}
        assert (await stack.http.get("/api/v1/systems", headers=headers)).status_code == 200
        listed = await stack.call("GET", "/tokens", ADMIN)
        assert all("token" not in row and "token_hash" not in row for row in listed.json())

        revoked = await stack.call("DELETE", f"/tokens/{body['id']}", ADMIN)
        assert revoked.status_code == 204
        refused = await stack.http.get("/api/v1/systems", headers=headers)
        assert refused.status_code == 401
        assert "revoked" in refused.json()["error"]["message"]


async def test_only_admins_issue_tokens_and_bad_roles_name_the_field(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A non-admin is refused with 403; an unknown role is a 422 naming `role`; no token at all is 401."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    async with running_stack(dev_env.client, settings) as stack:
        body = {"principal": "x@example.com", "role": "approver"}
        assert (await stack.call("POST", "/tokens", REQUESTER, json=body)).status_code == 403
        bad = await stack.call("POST", "/tokens", ADMIN, json=body | {"role": "god"})
        assert bad.status_code == 422
        assert bad.json()["error"]["problems"][0]["field"] == "role"
        anonymous = await stack.http.get("/api/v1/systems")
        assert anonymous.status_code == 401
