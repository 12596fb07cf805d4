"""Outbound webhooks end to end: subscriptions through the API, deliveries by Temporal activities."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cloudevents.v1.http import from_http
from standardwebhooks import Webhook
from temporalio.testing import WorkflowEnvironment

from tests.e2e.test_credentials_actions import action, post_actions, settings_for
from tests.e2e.test_promotion_tour import eventually, manifest
from tests.e2e.test_scope_changes import in_production
from tests.harness import REQUESTER, make_settings, running_stack

pytestmark = pytest.mark.devserver
ADMIN = "admin@threshold.local"


class Receiver:
    """A local HTTP receiver keeping every request; `/flaky` answers 500 twice, then 200."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.flaky_failures = 2
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append(
                    (self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = 200
                if self.path == "/flaky" and receiver.flaky_failures > 0:
                    receiver.flaky_failures -= 1
                    status = 500
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def on(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        """The requests received on `path`."""
        return [(h, b) for p, h, b in self.received if p == path]


@contextmanager
def receiving() -> Iterator[Receiver]:
    """A receiver serving on a thread until the block ends."""
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


async def test_state_changes_reach_signed_webhooks_and_cloudevents_after_retries(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """A registration's state change is delivered to a Standard Webhooks subscriber (signature
    verified by the `standardwebhooks` package) after two failures, recorded as 3 attempts, and
    to a CloudEvents subscriber parsed by the `cloudevents` package; only admins subscribe."""
    settings = make_settings(database_url, tmp_path)
    with receiving() as receiver:
        async with running_stack(dev_env.client, settings) as stack:
            flaky = {"url": f"{receiver.url}/flaky", "events": ["state_change"]}
            refused = await stack.call("POST", "/webhooks", REQUESTER, json=flaky)
            assert refused.status_code == 403
            created = await stack.call("POST", "/webhooks", ADMIN, json=flaky)
            assert created.status_code == 201, created.text
            standard: dict[str, Any] = created.json()
            assert standard["secret"].startswith("whsec_")
            cloud = await stack.call(
                "POST",
                "/webhooks",
                ADMIN,
                json={
                    "url": f"{receiver.url}/ce",
                    "events": ["state_change"],
                    "format": "cloudevents",
                },
            )
            assert cloud.status_code == 201, cloud.text
            listed = (await stack.call("GET", "/webhooks", ADMIN)).json()
            assert [h["id"] for h in listed] == [standard["id"], cloud.json()["id"]]
            assert all("secret" not in h for h in listed)

            registered = await stack.call(
                "POST", "/systems", REQUESTER, json=manifest("support-assistant")
            )
            assert registered.status_code == 201, registered.text

            async def delivered() -> list[dict[str, Any]]:
                path = f"/webhooks/{standard['id']}/deliveries"
                rows: list[dict[str, Any]] = (await stack.call("GET", path, ADMIN)).json()
                return rows if rows and all(r["status"] == "delivered" for r in rows) else []

            rows = await eventually(delivered, timeout=30)
            assert [(r["attempts"], r["last_status_code"]) for r in rows] == [(3, 200)]

            headers, body = receiver.on("/flaky")[-1]
            message = Webhook(standard["secret"]).verify(body, headers)
            assert message["type"] == "dev.threshold.state_change"
            assert message["data"]["system_id"] == "support-assistant"
            assert message["data"]["action"] == "entered_pilot"
            assert len({h["webhook-id"] for h, _ in receiver.on("/flaky")}) == 1  # one message

            async def cloud_delivered() -> bool:
                return bool(receiver.on("/ce"))

            assert await eventually(cloud_delivered, timeout=30)
            ce_headers, ce_body = receiver.on("/ce")[0]
            assert ce_headers["content-type"] == "application/cloudevents+json"
            event = from_http(ce_headers, ce_body)
            assert event["type"] == "dev.threshold.state_change"
            assert event["subject"] == "support-assistant"
            assert event.data["action"] == "entered_pilot"

            removed = await stack.call("DELETE", f"/webhooks/{standard['id']}", ADMIN)
            assert removed.status_code == 204
            gone = await stack.call("GET", f"/webhooks/{standard['id']}/deliveries", ADMIN)
            assert gone.status_code == 404


async def test_a_finding_and_its_containment_are_sent_to_subscribers(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """An out-of-scope tool call under `on_finding: contain` reaches a CloudEvents subscriber
    of findings and containment as both kinds of event, each delivered once."""
    settings = settings_for(database_url, tmp_path, on_finding="contain")
    with receiving() as receiver:
        async with running_stack(dev_env.client, settings) as stack:
            await in_production(stack)
            body = {
                "url": f"{receiver.url}/siem",
                "events": ["finding", "containment"],
                "format": "cloudevents",
            }
            created = await stack.call("POST", "/webhooks", ADMIN, json=body)
            assert created.status_code == 201, created.text
            await post_actions(stack, [action(tool="send_email")])

            async def both() -> set[str]:
                types = {from_http(h, b)["type"] for h, b in receiver.on("/siem")}
                wanted = {"dev.threshold.finding", "dev.threshold.containment"}
                return types if wanted <= types else set()

            assert await eventually(both, timeout=30)
            hook = created.json()["id"]

            async def settled() -> list[dict[str, Any]]:  # later containment events follow
                path = f"/webhooks/{hook}/deliveries"
                rows: list[dict[str, Any]] = (await stack.call("GET", path, ADMIN)).json()
                return rows if all(r["status"] == "delivered" for r in rows) else []

            rows = await eventually(settled, timeout=30)
            assert all(r["attempts"] == 1 for r in rows)
            assert {r["event_type"] for r in rows} == {"finding", "containment"}
            assert len(receiver.on("/siem")) == len(rows)  # each event sent once
