"""`threshold up` and the bench run the API and the worker as separate, supervised processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from temporalio.testing import WorkflowEnvironment

from bench.stack import bench_stack
from core.up import Layout
from tests.deploy.procs import alive, children, clean_env, cmdline, free_port, start_up
from tests.harness import REQUESTER, ROOT

pytestmark = pytest.mark.devserver
MANIFEST = ROOT / "examples" / "support-assistant.yaml"


def up_children(process: subprocess.Popen[str]) -> dict[str, list[int]]:
    """The API and worker processes `up` started, by role."""
    roles: dict[str, list[int]] = {"api": [], "worker": []}
    for pid in children(process.pid):
        line = cmdline(pid)
        for role in roles:
            if f"core.serve {role}" in line:
                roles[role].append(pid)
    return roles


def probe_worker(temporal_port: int) -> subprocess.CompletedProcess[str]:
    """The compose/Kubernetes worker health check, run on this host."""
    env = clean_env(THRESHOLD_TEMPORAL__ADDRESS=f"127.0.0.1:{temporal_port}")
    args = [sys.executable, "-m", "core.probe", "worker"]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)


def container_api_serves(tmp: Path, temporal_port: int) -> bool:
    """The image's command (`python -m core.serve api`, its own port) serves and stops on SIGTERM."""
    port = free_port()
    env = clean_env(
        THRESHOLD_TEMPORAL__ADDRESS=f"127.0.0.1:{temporal_port}",
        THRESHOLD_DATABASE_URL=f"sqlite:///{tmp}/threshold.db",
        THRESHOLD_API__PORT=str(port),
    )
    args = [sys.executable, "-m", "core.serve", "api"]
    api = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        probe = [sys.executable, "-m", "core.probe", "api"]
        for _ in range(300):
            if subprocess.run(probe, env=env, capture_output=True, timeout=30).returncode == 0:
                break
            assert api.poll() is None, api.communicate()[1]
            time.sleep(0.2)
        else:
            return False
    finally:
        api.send_signal(signal.SIGTERM)
        status = api.wait(timeout=30)
    return status == 0


def test_up_runs_api_and_workers_as_processes_and_ctrl_c_stops_them_all(tmp_path):
    """`up --api-processes 2 --workers 2` serves a registration from separate processes; Ctrl-C exits 0 leaving none."""
    process, url, temporal = start_up(tmp_path, "--api-processes", "2", "--workers", "2")
    try:
        roles = up_children(process)
        assert len(roles["api"]) == 2 and len(roles["worker"]) == 2
        token = (tmp_path / "admin-token").read_text().strip()
        body = yaml.safe_load(MANIFEST.read_text())
        response = httpx.post(
            f"{url}/api/v1/systems",
            content=json.dumps(body, default=str),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=60,
        )
        assert response.status_code == 201, response.text
        assert response.json()["system"]["state"] == "pilot"
        probe = probe_worker(temporal)
        assert probe.returncode == 0, probe.stderr
        assert container_api_serves(tmp_path, temporal)
        spawned = [pid for pids in roles.values() for pid in pids] + children(process.pid)
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=60)[0]
    assert process.returncode == 0, output
    assert "Threshold stopped." in output
    assert [pid for pid in spawned if alive(pid)] == []


def test_worker_probe_fails_with_one_line_when_no_worker_polls(
    dev_env: WorkflowEnvironment,
) -> None:
    """The worker health check exits 1 naming the task queue when no worker on this host polls it."""
    address = dev_env.client.service_client.config.target_host
    env = clean_env(
        THRESHOLD_TEMPORAL__ADDRESS=address, THRESHOLD_TEMPORAL__TASK_QUEUE="nobody-polls-this"
    )
    args = [sys.executable, "-m", "core.probe", "worker"]
    probe = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert probe.returncode == 1
    assert probe.stderr.strip().endswith("polls task queue 'nobody-polls-this'")


def test_up_exits_nonzero_naming_a_worker_that_died(tmp_path):
    """When a worker process is killed, `up` stops the others and exits 1 naming it."""
    process, _, _ = start_up(tmp_path)
    roles = up_children(process)
    spawned = children(process.pid)
    os.kill(roles["worker"][0], signal.SIGKILL)
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 1
    assert "the worker process 1" in output and "killed by signal 9" in output
    deadline = time.monotonic() + 5  # the dev server's group is reaped after the others
    while any(alive(pid) for pid in spawned) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in spawned if alive(pid)] == []


async def test_bench_stack_measures_the_up_layout(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The bench's stack runs API and worker processes apart from the load generator, and stops them all."""
    async with bench_stack(dev_env, tmp_path, Layout(api_processes=1, workers=1)) as stack:
        pids = list(stack.pids)
        assert os.getpid() not in pids and len(stack.worker_pids) == 1
        assert all(alive(pid) for pid in pids)
        body = yaml.safe_load(MANIFEST.read_text()) | {"id": "bench-stack-probe"}
        body["credentials"][0]["id"] = "bench-stack-probe-crm"
        response = await stack.http.post(
            "/api/v1/systems",
            content=json.dumps(body, default=str),
            headers={**stack.auth(REQUESTER), "Content-Type": "application/json"},
        )
        assert response.status_code == 201, response.text
        assert response.json()["system"]["state"] == "pilot"
        shown = await stack.http.get(
            "/api/v1/systems/bench-stack-probe", headers=stack.auth(REQUESTER)
        )
        assert shown.status_code == 200, shown.text
    assert [pid for pid in pids if alive(pid)] == []


def test_bench_takes_the_process_layout_flags() -> None:
    """`python -m bench.run --help` runs and offers --api-processes and --workers."""
    args = [sys.executable, "-m", "bench.run", "--help"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "--api-processes" in done.stdout and "--workers" in done.stdout
