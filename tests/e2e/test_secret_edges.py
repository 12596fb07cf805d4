"""The secret corpus through every edge of a running stack; afterwards no corpus value is kept.

Registration, credential POST and revoke, credential.changed events (single and batch), every
system command's reason or comment, a token label, a decision reason (API and dashboard) and
the CLI's deploy-check / event credential-change each refuse every corpus secret with a 4xx
(CLI: exit 2) naming the field and never echoing it; action records carrying the corpus are
accepted with every secret masked. Then the database (every table, and the SQLite file's
bytes), the captured logs and every Temporal history of the stack (payloads decoded; the
harness's converter does not encrypt, and a look-alike comment proves the search sees what
workflows carry) are searched for any corpus value: none is found.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
import yaml
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli import client as cli_client
from cli.main import app as cli_app
from tests.e2e.dashboard import browser, csrf_of, sign_in
from tests.e2e.test_promotion_tour import manifest, register_and_request
from tests.e2e.test_scope_changes import AppBridge
from tests.harness import REQUESTER, SECURITY, Stack, make_settings, running_stack
from tests.secret_corpus import SECRETS, Sample, leaked

pytestmark = pytest.mark.devserver
SYSTEM = "support-assistant"
ADMIN = "ada.admin@example.com"
LOOKALIKE_COMMENT = "checked commit 3f9c2b1a4d5e6f708192a3b4c5d6e7f8091a2b3c; reads kv/app/crm"
_PAYLOAD = re.compile(r'"data":\s*"([A-Za-z0-9+/=]+)"')


def hostile_manifest(sample: Sample, where: str) -> dict[str, Any]:
    """The example manifest with the secret in a credential reference or in free text."""
    data = manifest(SYSTEM)
    if where == "vault_ref":
        credentials = [dict(c) for c in data["credentials"]]  # type: ignore[attr-defined]
        credentials[0]["vault_ref"] = f"kv/{sample.value}"
        return data | {"credentials": credentials}
    return data | {"description": f"Drafts replies. Key: {sample.value}"}


def event(data: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    """A credential.changed CloudEvent about the system."""
    return {
        "specversion": "1.0",
        "id": uuid.uuid4().hex,
        "source": "/ci/secrets",
        "type": "dev.threshold.credential.changed",
        "subject": SYSTEM,
        "data": data,
    } | envelope


def credential(vault_ref: str) -> dict[str, Any]:
    """A production credential with the given reference."""
    return {
        "id": "crm-writer",
        "kind": "api_key",
        "environment": "pilot",
        "owner": "tom.tech@example.com",
        "vault_ref": vault_ref,
    }


def refused(sample: Sample, response: Any, field: str) -> None:
    """A 4xx whose problems name `field` and whose body quotes nothing of the secret."""
    assert 400 <= response.status_code < 500, (sample.family, response.text)
    fields = [p["field"] for p in response.json()["error"]["problems"]]
    assert any(f.startswith(field) for f in fields), (sample.family, field, fields)
    assert leaked(sample, response.text) == [], (sample.family, field)


async def through_the_api(stack: Stack, sample: Sample, request_id: str) -> None:
    """Registration, credential POST/revoke, events and a decision reason refuse the sample."""
    for where, field in (("vault_ref", "credentials[0].vault_ref"), ("text", "description")):
        body = hostile_manifest(sample, where) | {"id": "hostile-assistant"}
        refused(sample, await stack.call("POST", "/systems", REQUESTER, json=body), field)
    posted = await stack.call(
        "POST", f"/systems/{SYSTEM}/credentials", REQUESTER, json=credential(f"kv/{sample.value}")
    )
    refused(sample, posted, "vault_ref")
    revoke = f"/systems/{SYSTEM}/credentials/{quote(sample.value, safe='')}/revoke"
    revoked = await stack.call("POST", revoke, REQUESTER, json={"reason": "leaked"})
    assert revoked.status_code in (404, 405, 422) and leaked(sample, revoked.text) == []
    changed = event({"action": "added", "credential": credential(f"kv/{sample.value}")})
    sent = await stack.call("POST", "/events", REQUESTER, json=changed)
    refused(sample, sent, "data.credential.vault_ref")
    removed = event({"action": "removed", "credential_id": sample.value})
    refused(
        sample, await stack.call("POST", "/events", REQUESTER, json=removed), "data.credential_id"
    )
    decided = await stack.call(
        "POST",
        f"/requests/{request_id}/decisions",
        SECURITY,
        json={"approve": False, "comment": f"rejected: {sample.value}"},
    )
    refused(sample, decided, "comment")


REASONS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("/promotion", "comment", {}),
    ("/retire", "reason", {}),
    ("/recertification", "comment", {"approve": False}),
    ("/exceptions", "reason", {"gap": "no_owner", "until": "2027-01-31"}),
    ("/exceptions/no_owner/revoke", "reason", {}),
    ("/contain", "reason", {}),
    ("/release", "comment", {}),
)


async def reasons_through_the_api(stack: Stack, sample: Sample) -> None:
    """Every reason or comment of a system command refuses the sample with a 422, no echo."""
    for path, field, body in REASONS:
        answer = await stack.call(
            "POST",
            f"/systems/{SYSTEM}{path}",
            ADMIN,
            json=body | {field: f"because {sample.value}"},
        )
        assert answer.status_code == 422, (sample.family, path, answer.text)
        refused(sample, answer, field)
    token = await stack.call(
        "POST",
        "/tokens",
        ADMIN,
        json={"principal": "ci@example.com", "role": "emitter", "label": sample.value},
    )
    refused(sample, token, "label")


async def batch_through_the_api(stack: Stack) -> None:
    """A batch of hostile events answers per item, each refused without echo."""
    items = [
        event({"action": "added", "credential": credential(f"kv/{s.value}")}, id=s.value)
        for s in SECRETS
    ]
    headers = {"Content-Type": "application/cloudevents-batch+json"}
    answer = await stack.call(
        "POST", "/events", REQUESTER, content=json.dumps(items), headers=headers
    )
    assert answer.status_code == 200 and answer.json()["applied"] == 0, answer.text
    for sample in SECRETS:
        assert leaked(sample, answer.text) == [], sample.family


async def through_the_dashboard(stack: Stack, request_id: str) -> None:
    """A dashboard rejection whose reason holds a secret answers 422, the page quoting none."""
    async with browser(stack) as http:
        await sign_in(http, stack.tokens[SECURITY])
        inbox = await http.get("/approvals")
        for sample in SECRETS:
            form = {"csrf_token": csrf_of(inbox.text), "decision": "reject"}
            page = await http.post(
                f"/approvals/{request_id}", data=form | {"reason": f"no: {sample.value}"}
            )
            assert page.status_code == 422, (sample.family, page.text[:300])
            assert "holds a secret" in page.text
            assert leaked(sample, page.text) == [], sample.family


async def through_the_cli(stack: Stack, tmp_path: Path) -> None:
    """deploy-check and event credential-change exit 2 naming the field, echoing nothing."""
    runner = CliRunner()
    token = ["--token", stack.tokens[REQUESTER]]
    for sample in SECRETS:
        path = tmp_path / f"{uuid.uuid4().hex}.yaml"
        path.write_text(yaml.safe_dump(hostile_manifest(sample, "vault_ref")))
        args = [*token, "deploy-check", "--manifest", str(path)]
        result = await asyncio.to_thread(runner.invoke, cli_app, args)
        assert result.exit_code == 2, (sample.family, result.output)
        assert "credentials[0].vault_ref" in result.output
        assert leaked(sample, result.output) == [], sample.family
        path.write_text(yaml.safe_dump(credential(f"vault://kv/{sample.value}")))
        args = [*token, "event", "credential-change", SYSTEM, "--action", "added"]
        result = await asyncio.to_thread(runner.invoke, cli_app, [*args, "--credential", str(path)])
        assert result.exit_code == 2, (sample.family, result.output)
        assert "data.credential.vault_ref" in result.output
        assert leaked(sample, result.output) == [], sample.family


PII = "card 4111 1111 1111 1111, iban DE89 3704 0044 0532 0130 00, call +14155550132"


def action_record(sample: Sample, n: int) -> dict[str, Any]:
    """An action record with the secret in its content, target, credential_id and id."""
    return {
        "system": SYSTEM,
        "environment": "pilot",
        "time": "2026-11-26T10:00:00Z",
        "kind": "tool_call",
        "tool": "search_kb",
        "target": f"https://kb.example.com/search?token={sample.value}",
        "credential_id": sample.value[:128],
        "trace_id": f"trace-{n}",
        "id": sample.value[:200],
        "content": f"{PII}; the user pasted {sample.value} into the chat",
    }


async def actions_with_secrets(stack: Stack) -> None:
    """Action records are telemetry: accepted, with every secret masked before it is stored."""
    body = "\n".join(json.dumps(action_record(s, n)) for n, s in enumerate(SECRETS))
    headers = {"Content-Type": "application/x-ndjson"}
    answer = await stack.call("POST", "/actions", REQUESTER, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == len(SECRETS)
    for sample in SECRETS:
        assert leaked(sample, answer.text) == [], sample.family


def database_text(url: str) -> str:
    """Every row of every table as text (and, for SQLite, the file's bytes)."""
    engine = sa.create_engine(url)
    chunks: list[str] = []
    metadata = sa.MetaData()
    metadata.reflect(bind=engine)
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            chunks += [repr(tuple(row)) for row in connection.execute(sa.select(table))]
    engine.dispose()
    if url.startswith("sqlite:///"):
        chunks.append(Path(url.removeprefix("sqlite:///")).read_bytes().decode("latin-1"))
    return "\n".join(chunks)


async def histories_text(stack: Stack) -> str:
    """Every Temporal history of the stack's workflows, with payloads decoded."""
    prefix = stack.settings.temporal.workflow_id_prefix
    texts: list[str] = []
    async for execution in stack.client.list_workflows():
        if not execution.id.startswith(prefix):
            continue
        handle = stack.client.get_workflow_handle(execution.id, run_id=execution.run_id)
        raw = (await handle.fetch_history()).to_json()
        texts.append(raw)
        texts += [
            base64.b64decode(data).decode("utf-8", "replace") for data in _PAYLOAD.findall(raw)
        ]
    assert texts, "the stack ran workflows, so there are histories to search"
    return "\n".join(texts)


def kept(text: str) -> list[str]:
    """The corpus families any of whose secret (or 16-character piece of it) is in `text`."""
    found = []
    for sample in SECRETS:
        secret = sample.secret
        pieces = {secret} | {secret[i : i + 16] for i in range(0, max(1, len(secret) - 15), 4)}
        if any(piece in text for piece in pieces):
            found.append(sample.family)
    return found


async def test_the_corpus_is_refused_at_every_edge_and_kept_nowhere(
    dev_env: WorkflowEnvironment,
    database_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every corpus secret is refused without echo at each edge (action records: masked);
    none is in the database, the logs or a Temporal history afterwards."""
    caplog.set_level(logging.DEBUG)
    async with running_stack(dev_env.client, make_settings(database_url, tmp_path)) as stack:
        request_id = await register_and_request(stack)
        stack.token(ADMIN, "admin")
        for sample in SECRETS:
            await through_the_api(stack, sample, request_id)
            await reasons_through_the_api(stack, sample)
        await batch_through_the_api(stack)
        await actions_with_secrets(stack)
        await through_the_dashboard(stack, request_id)
        monkeypatch.setattr(cli_client, "TRANSPORT", AppBridge(stack, asyncio.get_running_loop()))
        await through_the_cli(stack, tmp_path)
        shown = await stack.call("GET", f"/requests/{request_id}", REQUESTER)
        assert shown.json()["decisions"] == [], "no refused decision was recorded"
        approved = await stack.call(
            "POST",
            f"/requests/{request_id}/decisions",
            SECURITY,
            json={"approve": True, "comment": LOOKALIKE_COMMENT},
        )
        assert approved.status_code == 200, approved.text
        histories = await histories_text(stack)
        assert LOOKALIKE_COMMENT in histories  # the search sees what workflows carry
        assert kept(histories) == []
    stored = database_text(database_url)
    assert LOOKALIKE_COMMENT in stored  # the search sees what the database keeps
    assert "[card], iban [iban], call [phone]; the user pasted [secret]" in stored  # redacted
    assert kept(stored) == []
    # httpx's own INFO lines are the test client's (it logs the URLs it is asked to call)
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert kept(logged) == []
