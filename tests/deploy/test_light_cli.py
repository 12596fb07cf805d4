"""The `threshold-cli` distribution installs the command alone, without the server stack."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy.procs import clean_env, start_up
from tests.harness import ROOT

PACKAGING = ROOT / "packaging" / "threshold-cli"
SERVER_STACK = (
    "fastapi",
    "uvicorn",
    "sqlmodel",
    "sqlalchemy",
    "temporalio",
    "alembic",
    "slack_sdk",
    "jira",
)


def run(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run a command; fail the test with its output when it fails."""
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def light_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with only the threshold-cli wheel (and its dependencies)."""
    tmp = tmp_path_factory.mktemp("light-cli")
    source = tmp / "source"  # a copy: the in-tree build leaves build/ and egg-info behind
    shutil.copytree(PACKAGING, source / "packaging" / "threshold-cli")
    for package in ("cli", "domain", "integrations"):
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    project = source / "packaging" / "threshold-cli"
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", tmp / "dist", project)
    (wheel,) = (tmp / "dist").glob("threshold_cli-*.whl")
    run(sys.executable, "-m", "venv", tmp / "venv")
    run(tmp / "venv/bin/python", "-m", "pip", "install", "--quiet", wheel)
    return tmp / "venv"


def test_light_cli_runs_deploy_check_without_the_server_stack(light_venv: Path) -> None:
    """`threshold --help` and `threshold deploy-check --help` run, and no server package is importable."""
    assert "deploy-check" in run(light_venv / "bin/threshold", "--help").stdout
    assert "--manifest" in run(light_venv / "bin/threshold", "deploy-check", "--help").stdout
    probe = f"import importlib.util as u; print(*[m for m in {SERVER_STACK!r} if u.find_spec(m)])"
    assert run(light_venv / "bin/python", "-c", probe).stdout.strip() == ""


def test_light_cli_up_says_which_install_it_needs(light_venv: Path) -> None:
    """`threshold up` in the light install exits 2 with one line naming the server install."""
    done = subprocess.run(
        [str(light_venv / "bin/threshold"), "up"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "needs the server install" in done.stderr and "threshold[dev-server]" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_imports_nothing_of_the_server_at_start():
    """Importing the CLI (every command registered) loads no FastAPI, uvicorn, sqlmodel or temporalio."""
    probe = f"import sys, cli.main; print(*[m for m in {SERVER_STACK!r} if m in sys.modules])"
    assert run(sys.executable, "-c", probe).stdout.strip() == ""


def test_light_distribution_ships_every_package_the_cli_imports():
    """Each package directory under cli/, domain/ and integrations/ is listed in the threshold-cli build."""
    config = tomllib.loads((PACKAGING / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("cli", "domain", "integrations")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert set(config["packages"]) == on_disk
    tops = {p for p in config["packages"] if "." not in p}
    assert all(config["package-dir"][p] == f"../../{p}" for p in tops)


@pytest.mark.devserver
def test_light_cli_deploy_check_denies_a_pilot_system_against_a_real_stack(
    light_venv: Path, tmp_path: Path
) -> None:
    """Against `threshold up`, the light CLI registers a system and deploy-check exits 1 for production."""
    process, url, _ = start_up(tmp_path)
    try:
        env = clean_env(
            THRESHOLD_URL=url, THRESHOLD_TOKEN=(tmp_path / "admin-token").read_text().strip()
        )
        cli = str(light_venv / "bin/threshold")
        manifest = str(ROOT / "examples" / "support-assistant.yaml")
        registered = subprocess.run(
            [cli, "systems", "register", manifest],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert registered.returncode == 0, registered.stderr
        check = [cli, "deploy-check", "--manifest", manifest, "--id", "light-cli-1", "--json"]
        denied = subprocess.run(check, env=env, capture_output=True, text=True, timeout=120)
        assert denied.returncode == 1, denied.stderr
        assert json.loads(denied.stdout)["gate"]["allowed"] is False
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
