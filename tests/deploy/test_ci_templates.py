"""The GitHub composite action and the GitLab template run deploy-check and branch on its status.

Their shell steps are run for real by bash, with a stand-in `threshold` that exits with the
statuses a test scripts (0 approved, 1 denied, 3 unavailable), and its arguments recorded.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import ROOT

ACTION = ROOT / "deploy" / "github-action" / "action.yml"
GITLAB = ROOT / "deploy" / "gitlab" / "threshold.gitlab-ci.yml"
FAKE = """#!/bin/sh
echo "$@" >> "{calls}"
n=$(wc -l < "{calls}")
exit $(sed -n "${{n}}p" "{statuses}")
"""


def action() -> dict[str, Any]:
    """The composite action."""
    loaded: dict[str, Any] = yaml.safe_load(ACTION.read_text())
    return loaded


def gitlab_job() -> dict[str, Any]:
    """The template's hidden job."""
    loaded: dict[str, dict[str, Any]] = yaml.safe_load(GITLAB.read_text())
    return loaded[".threshold-deploy-check"]


def fake_threshold(bin_dir: Path, statuses: list[int]) -> Path:
    """A `threshold` in `bin_dir` exiting with `statuses` in turn; returns its call log."""
    bin_dir.mkdir(parents=True)
    calls, script = bin_dir / "calls", bin_dir / "statuses"
    script.write_text("".join(f"{s}\n" for s in statuses))
    path = bin_dir / "threshold"
    path.write_text(FAKE.format(calls=calls, statuses=script))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return calls


def run_github_step(tmp: Path, statuses: list[int]) -> tuple[int, list[str], str]:
    """The action's check step under bash: exit status, deploy-check calls, GITHUB_OUTPUT."""
    (check,) = [s for s in action()["runs"]["steps"] if s.get("id") == "check"]
    calls = fake_threshold(tmp / "threshold-cli" / "bin", statuses)
    output = tmp / "github-output"
    env = dict(os.environ, RUNNER_TEMP=str(tmp), GITHUB_OUTPUT=str(output), RETRIES="4", DELAY="0")
    env |= {"MANIFEST": "ai-system.yaml", "ENVIRONMENT": "production"}
    env |= {"SOURCE": "https://ci.example/run/7", "EVENT_ID": "deploy-check-abc"}
    done = subprocess.run(["bash", "-c", check["run"]], env=env, capture_output=True, text=True)
    return done.returncode, calls.read_text().splitlines(), output.read_text()


def run_gitlab_script(tmp: Path, statuses: list[int]) -> tuple[int, list[str]]:
    """The GitLab job's script under sh with its variables: exit status and calls."""
    job = gitlab_job()
    calls = fake_threshold(tmp / "bin", statuses)
    variables = {k: str(v) for k, v in job["variables"].items()}
    variables |= {"THRESHOLD_RETRY_DELAY": "0", "THRESHOLD_SOURCE": "https://ci.example/p/9"}
    variables["THRESHOLD_EVENT_ID"] = "deploy-check-abc"
    env = dict(os.environ, **variables, PATH=f"{tmp / 'bin'}:{os.environ['PATH']}")
    done = subprocess.run(["sh", "-c", "\n".join(job["script"])], env=env, capture_output=True)
    return done.returncode, calls.read_text().splitlines()


def test_github_action_installs_the_light_cli_and_passes_its_inputs():
    """The action installs `threshold-cli` and gives deploy-check the manifest, environment, source and id."""
    spec = action()
    assert spec["runs"]["using"] == "composite"
    assert spec["inputs"]["package"]["default"] == "threshold-cli"
    assert {"manifest", "url", "token"} <= {
        k for k, v in spec["inputs"].items() if v.get("required")
    }
    steps = spec["runs"]["steps"]
    assert any("pip install" in s.get("run", "") and "$PACKAGE" in s["run"] for s in steps)
    (check,) = [s for s in steps if s.get("id") == "check"]
    assert check["env"]["THRESHOLD_TOKEN"] == "${{ inputs.token }}"
    for step in steps:  # inputs reach scripts through env, never pasted into the script
        assert "${{" not in step.get("run", "")


@pytest.mark.parametrize("statuses,expected,attempts", [([0], 0, 1), ([1], 1, 1), ([2], 2, 1)])
def test_github_action_fails_the_step_on_denial_without_retrying(
    tmp_path: Path, statuses: list[int], expected: int, attempts: int
) -> None:
    """Approved passes, denied (1) and input errors (2) fail at once; outputs say which."""
    status, calls, output = run_github_step(tmp_path, statuses)
    assert status == expected and len(calls) == attempts
    assert calls[0] == (
        "deploy-check --manifest ai-system.yaml --environment production "
        "--source https://ci.example/run/7 --id deploy-check-abc"
    )
    assert f"status={expected}" in output
    assert f"allowed={'true' if expected == 0 else 'false'}" in output


def test_github_action_retries_while_threshold_is_unavailable(tmp_path: Path) -> None:
    """Exit 3 is retried with the same event id until an answer, then that answer decides."""
    status, calls, _ = run_github_step(tmp_path, [3, 3, 1])
    assert status == 1 and len(calls) == 3 and len(set(calls)) == 1
    status, calls, _ = run_github_step(tmp_path / "again", [3, 3, 3, 3, 3])
    assert status == 3 and len(calls) == 4  # RETRIES=4 attempts, then the job fails


def test_gitlab_template_installs_the_light_cli_and_runs_deploy_check():
    """The hidden job installs threshold-cli and names the pipeline as the event source."""
    job = gitlab_job()
    assert job["variables"]["THRESHOLD_CLI_PACKAGE"].startswith("threshold-cli")
    assert job["variables"]["THRESHOLD_SOURCE"] == "$CI_PIPELINE_URL"
    assert any("pip install" in line for line in job["before_script"])
    assert "$THRESHOLD_CLI_PACKAGE" in job["before_script"][0]


@pytest.mark.parametrize(
    "statuses,expected,attempts", [([0], 0, 1), ([1], 1, 1), ([3, 0], 0, 2), ([3, 1], 1, 2)]
)
def test_gitlab_job_fails_on_denial_and_retries_on_unavailable(
    tmp_path: Path, statuses: list[int], expected: int, attempts: int
) -> None:
    """The job's status is deploy-check's answer; exit 3 is retried, 1 fails the job at once."""
    status, calls = run_gitlab_script(tmp_path, statuses)
    assert status == expected and len(calls) == attempts
    assert calls[0] == (
        "deploy-check --manifest ai-system.yaml --environment production "
        "--source https://ci.example/p/9 --id deploy-check-abc"
    )


def test_examples_use_the_templates():
    """The examples call the action and extend the GitLab job with a manifest."""
    github = yaml.safe_load((ROOT / "examples" / "github-deploy.yml").read_text())
    steps = github["jobs"]["deploy"]["steps"]
    (check,) = [s for s in steps if "deploy/github-action" in s.get("uses", "")]
    assert check["with"]["token"] == "${{ secrets.THRESHOLD_TOKEN }}"
    assert check["with"]["manifest"] == "ai-system.yaml"
    gitlab = yaml.safe_load((ROOT / "examples" / "gitlab-ci.yml").read_text())
    assert gitlab["include"][0]["remote"].endswith("deploy/gitlab/threshold.gitlab-ci.yml")
    assert gitlab["deploy-check"]["extends"] == ".threshold-deploy-check"
    assert gitlab["deploy"]["needs"] == ["deploy-check"]
