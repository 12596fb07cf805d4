"""The Temporal-side figures: raw baseline and Threshold's HTTP path on the same dev server."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx
import yaml
from rich.progress import Progress
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from bench.common import BUSINESS, REQUESTER, ROOT, SECURITY, TECH
from bench.raw import RawEntityWorkflow
from bench.stack import SLACK_SECRET, BenchStack
from bench.stats import Measure, run_concurrent, run_sequential
from integrations.slack_blocks import APPROVE_ACTION
from tests.emulators.slack import block_actions_payload, form_body, sign_slack_request

MANIFEST = ROOT / "examples" / "support-assistant.yaml"
API = "/api/v1"
JSON = {"Content-Type": "application/json"}
SETTLE_SECONDS = 1.5  # let the outbox activities of the previous phase drain
CLICK_THINK = 0.25  # seconds between clicks, raw and Threshold alike: people click, not loops


@dataclass(frozen=True)
class Sizes:
    """How much work each phase does."""

    starts: int  # workflows started / systems registered (N)
    promoted: int  # systems promoted, decided on (M)
    samples: int  # sequential latency samples (S)
    concurrency: int = 32
    warmup: int = 8
    event_systems: int = 100  # pilot systems the scope-change events land on
    events: int = 1_000  # scope-change events sent concurrently (spread over event_systems)


FULL = Sizes(starts=400, promoted=200, samples=200)
QUICK = Sizes(starts=100, promoted=50, samples=100, event_systems=50, events=400)
EVENT_SOURCE = "/bench/deploy"
CLOUDEVENT_JSON = {"Content-Type": "application/cloudevents+json"}


def manifest_bodies(prefix: str, count: int) -> list[bytes]:
    """Distinct support-assistant manifests as JSON (ids and credential ids made unique)."""
    base: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    bodies = []
    for n in range(count):
        system_id = f"{prefix}{n}"
        credential = {**base["credentials"][0], "id": f"{system_id}-crm-reader"}
        body = {**base, "id": system_id, "credentials": [credential]}
        bodies.append(json.dumps(body, default=str).encode())
    return bodies


def expect(response: httpx.Response, status: int) -> dict[str, Any]:
    """The JSON body of a response with the expected status, or a clear failure."""
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path} → {response.status_code}: "
            f"{response.text[:500]}"
        )
    body: dict[str, Any] = response.json()
    return body


class Scenarios:
    """Each phase, raw first, then Threshold through HTTP; results keyed by figure name."""

    def __init__(self, stack: BenchStack, sizes: Sizes, progress: Progress) -> None:
        self.stack = stack
        self.sizes = sizes
        self.progress = progress
        self.results: dict[str, dict[str, float | int]] = {}
        self.requests: dict[str, str] = {}  # system id → open request id

    def keep(self, name: str, measure: Measure) -> Measure:
        """Record a measurement under a figure name."""
        self.results[name] = measure.summary()
        return measure

    async def concurrent(self, name: str, op: Any, count: int) -> Measure:
        """A concurrent phase, recorded."""
        measure = await run_concurrent(op, count, self.sizes.concurrency, self.progress, name)
        return self.keep(name, measure)

    async def sequential(self, name: str, op: Any, count: int, think: float = 0.0) -> Measure:
        """A sequential phase, recorded."""
        return self.keep(name, await run_sequential(op, count, self.progress, name, think))

    # ----- raw Temporal ------------------------------------------------------------------

    async def raw_start(self, name: str) -> None:
        """Start one raw entity workflow."""
        await self.stack.client.start_workflow(
            RawEntityWorkflow.run, name, id=self.stack.raw_id(name), task_queue=self.stack.raw_queue
        )

    async def raw_update_with_start(self, name: str) -> None:
        """Update-with-start on a new raw entity (the primitive Threshold's register uses)."""
        start = WithStartWorkflowOperation(
            RawEntityWorkflow.run,
            name,
            id=self.stack.raw_id(name),
            task_queue=self.stack.raw_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        await self.stack.client.execute_update_with_start_workflow(
            RawEntityWorkflow.touch, 1, start_workflow_operation=start
        )

    async def raw_update(self, index: int) -> None:
        """One trivial update on an existing raw entity."""
        handle = self.stack.client.get_workflow_handle(self.stack.raw_id(f"e{index}"))
        await handle.execute_update(RawEntityWorkflow.touch, index)

    async def raw_query(self, index: int) -> None:
        """One trivial query on an existing raw entity."""
        handle = self.stack.client.get_workflow_handle(self.stack.raw_id(f"e{index}"))
        await handle.query(RawEntityWorkflow.state)

    # ----- Threshold through HTTP --------------------------------------------------------

    async def register(self, body: bytes) -> str:
        """POST a manifest; return the system id."""
        headers = {**JSON, **self.stack.auth(REQUESTER)}
        response = await self.stack.http.post(f"{API}/systems", content=body, headers=headers)
        return str(expect(response, 201)["system"]["system_id"])

    async def promote(self, system_id: str) -> None:
        """Request promotion; remember the request id."""
        response = await self.stack.http.post(
            f"{API}/systems/{system_id}/promotion",
            json={"comment": "bench"},
            headers=self.stack.auth(REQUESTER),
        )
        system = expect(response, 202)["system"]
        self.requests[system_id] = system["pending_request"]["id"]

    async def decide(self, system_id: str, principal: str) -> str:
        """Approve the system's open request as `principal`; return the request status."""
        response = await self.stack.http.post(
            f"{API}/requests/{self.requests[system_id]}/decisions",
            json={"approve": True, "comment": "bench"},
            headers=self.stack.auth(principal),
        )
        return str(expect(response, 200)["request"]["status"])

    async def click(self, system_id: str, principal: str) -> None:
        """A signed Approve click from `principal`'s DM, as Slack posts it."""
        user = self.stack.slack_users[principal]
        payload = block_actions_payload(
            user, APPROVE_ACTION, self.requests[system_id], "1700000000.000100", f"D{user}"
        )
        body = form_body(payload)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **sign_slack_request(SLACK_SECRET, body),
        }
        response = await self.stack.http.post("/slack/interactions", content=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"click on {system_id} → {response.status_code}: {response.text}")

    async def clicked(self, system_id: str, principal: str) -> None:
        """Check a click counted (Slack answers 200 even to a refused one)."""
        response = await self.stack.http.get(
            f"{API}/requests/{self.requests[system_id]}", headers=self.stack.auth(REQUESTER)
        )
        deciders = {d["principal"] for d in expect(response, 200)["decisions"]}
        if principal not in deciders:
            raise RuntimeError(f"the click by {principal} on {system_id} was not recorded")

    def scope_event(self, index: int) -> dict[str, Any]:
        """The `index`-th deploy: one new read target on one of the event systems."""
        return {
            "specversion": "1.0",
            "type": "dev.threshold.scope.changed",
            "source": EVENT_SOURCE,
            "id": f"deploy-{index}",
            "subject": f"bench-ev-{index % self.sizes.event_systems}",
            "data": {"add_read": [f"source-{index}"]},
        }

    async def send_event(self, index: int, *, expect_duplicate: bool = False) -> None:
        """POST one scope-change event; check it was applied (or recognised as a repeat)."""
        headers = {**CLOUDEVENT_JSON, **self.stack.auth(REQUESTER)}
        response = await self.stack.http.post(
            f"{API}/events", json=self.scope_event(index), headers=headers
        )
        body = expect(response, 200)
        if bool(body.get("duplicate")) != expect_duplicate:
            raise RuntimeError(f"event deploy-{index}: duplicate={body.get('duplicate')}")

    async def raw_signal(self, index: int) -> None:
        """One trivial signal to an existing raw entity."""
        handle = self.stack.client.get_workflow_handle(self.stack.raw_id(f"e{index % 100}"))
        await handle.signal(RawEntityWorkflow.ping, index)

    async def events_applied_once(self) -> None:
        """Every event's read target is on its system, and each system holds exactly its own."""
        sizes = self.sizes
        for n in range(sizes.event_systems):
            response = await self.stack.http.get(
                f"{API}/systems/bench-ev-{n}", headers=self.stack.auth(REQUESTER)
            )
            targets = expect(response, 200)["manifest"]["capabilities"]["read_targets"]
            added = {t for t in targets if t.startswith("source-")}
            wanted = {f"source-{i}" for i in range(n, sizes.events, sizes.event_systems)}
            if added != wanted or len(targets) != len(set(targets)):
                raise RuntimeError(f"bench-ev-{n}: read targets {targets} != {sorted(wanted)}")

    async def gate(self, system_id: str) -> None:
        """Read the production gate."""
        response = await self.stack.http.get(
            f"{API}/systems/{system_id}/gate",
            params={"environment": "production"},
            headers=self.stack.auth(REQUESTER),
        )
        expect(response, 200)

    async def healthz(self, _: int) -> None:
        """The HTTP floor: uvicorn + FastAPI + httpx with no auth, DB or Temporal."""
        expect(await self.stack.http.get("/healthz"), 200)

    # ----- phases ------------------------------------------------------------------------

    async def warm_up(self) -> None:
        """Touch every path once per lane so imports, schemas and caches are warm."""
        count = self.sizes.warmup
        for i in range(count):
            await self.raw_start(f"w{i}")
            await self.raw_update_with_start(f"wu{i}")
            await self.stack.client.get_workflow_handle(self.stack.raw_id(f"w{i}")).execute_update(
                RawEntityWorkflow.touch, i
            )
            await self.stack.client.get_workflow_handle(self.stack.raw_id(f"w{i}")).query(
                RawEntityWorkflow.state
            )
            await self.healthz(i)
        for body in manifest_bodies("bench-warm-", count):
            system_id = await self.register(body)
            await self.promote(system_id)
            for principal in (BUSINESS, TECH, SECURITY):
                await self.decide(system_id, principal)
            await self.gate(system_id)
        await asyncio.sleep(SETTLE_SECONDS)

    async def starts(self) -> None:
        """Figure 1: raw starts/s, raw update-with-start/s, Threshold registrations/s."""
        n = self.sizes.starts
        await self.concurrent("raw.start_workflow", lambda i: self.raw_start(f"e{i}"), n)
        await self.concurrent(
            "raw.update_with_start", lambda i: self.raw_update_with_start(f"u{i}"), n
        )
        await asyncio.sleep(SETTLE_SECONDS)
        bodies = manifest_bodies("bench-", n)
        await self.concurrent("threshold.register", lambda i: self.register(bodies[i]), n)
        await asyncio.sleep(SETTLE_SECONDS)

    async def decisions(self) -> None:
        """Figure 2: raw update latency/throughput, then Threshold decisions."""
        sizes = self.sizes
        await self.sequential("raw.update.sequential", self.raw_update, sizes.samples)
        await self.concurrent("raw.update.concurrent", self.raw_update, sizes.starts)
        systems = [f"bench-{i}" for i in range(sizes.promoted)]
        await self.concurrent("threshold.promote", lambda i: self.promote(systems[i]), len(systems))
        await asyncio.sleep(SETTLE_SECONDS)
        await self.sequential(
            "threshold.decide.sequential",
            lambda i: self.decide(systems[i], BUSINESS),
            len(systems),
        )
        await asyncio.sleep(SETTLE_SECONDS)
        await self.concurrent(
            "threshold.decide.concurrent", lambda i: self.decide(systems[i], TECH), len(systems)
        )
        await asyncio.sleep(SETTLE_SECONDS)
        await self.concurrent(
            "threshold.decide.closing", lambda i: self.closing(systems[i]), len(systems)
        )
        await asyncio.sleep(SETTLE_SECONDS)

    async def closing(self, system_id: str) -> None:
        """The last approval: closes the request and waits until the system is in production."""
        status = await self.decide(system_id, SECURITY)
        if status != "approved":
            raise RuntimeError(f"{system_id}: the closing decision left the request {status}")

    async def clicks(self) -> None:
        """Figure 2b: Slack click → decision through the signed endpoint, vs a raw update."""
        first, count = self.sizes.promoted, self.sizes.promoted
        systems = [f"bench-{first + i}" for i in range(count)]
        await self.concurrent("threshold.promote.slack", lambda i: self.promote(systems[i]), count)
        await asyncio.sleep(SETTLE_SECONDS)
        await self.click(systems[0], TECH)  # warm the users.info cache for the clicker
        await self.sequential(
            "raw.update.sequential.clicks", self.raw_update, self.sizes.samples, CLICK_THINK
        )
        await self.sequential(
            "slack.click.sequential",
            lambda i: self.click(systems[i], BUSINESS),
            count,
            CLICK_THINK,
        )
        for system_id in systems:
            await self.clicked(system_id, BUSINESS)
        await asyncio.sleep(SETTLE_SECONDS)

    async def scope_events(self) -> None:
        """Figure 5: scope-change events/s through HTTP vs raw updates and signals (c=32)."""
        n = self.sizes.events
        bodies = manifest_bodies("bench-ev-", self.sizes.event_systems)
        for body in bodies:
            await self.register(body)
        await asyncio.sleep(SETTLE_SECONDS)
        await self.concurrent("raw.update.events", lambda i: self.raw_update(i % 100), n)
        await self.concurrent("raw.signal.events", self.raw_signal, n)
        await asyncio.sleep(SETTLE_SECONDS)
        await self.concurrent("threshold.event.concurrent", self.send_event, n)
        await self.events_applied_once()
        resend = lambda i: self.send_event(i, expect_duplicate=True)  # noqa: E731
        await self.concurrent("threshold.event.resent", resend, n)
        await self.events_applied_once()
        await asyncio.sleep(SETTLE_SECONDS)

    async def gates(self) -> None:
        """Figure 3: gate through HTTP vs a raw query; plus the bare HTTP floor; then gates
        while events arrive (32 clients in all: half ask the gate, half send events)."""
        s, n = self.sizes.samples, self.sizes.starts
        await self.sequential("raw.query.sequential", lambda i: self.raw_query(i % n), s)
        await self.sequential("threshold.gate.sequential", lambda i: self.gate(f"bench-{i % n}"), s)
        await self.sequential("http.healthz.sequential", self.healthz, s)
        half, events = self.sizes.concurrency // 2, self.sizes.events
        gate = lambda i: self.gate(f"bench-ev-{i % self.sizes.event_systems}")  # noqa: E731
        event = lambda i: self.send_event(events + i)  # noqa: E731
        gated, sent = await asyncio.gather(
            run_concurrent(gate, events, half, self.progress, "threshold.gate.loaded"),
            run_concurrent(event, events, half, self.progress, "threshold.event.loaded"),
        )
        self.keep("threshold.gate.loaded", gated)
        self.keep("threshold.event.loaded", sent)

    async def run(self) -> dict[str, dict[str, float | int]]:
        """Every Temporal-side phase, in order."""
        await self.warm_up()
        await self.starts()
        await self.decisions()
        await self.clicks()
        await self.scope_events()
        await self.gates()
        return self.results
