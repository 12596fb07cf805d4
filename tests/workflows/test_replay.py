"""Determinism guard: histories recorded from real runs must replay against today's workflow code."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from worker import WORKFLOWS, workflow_runner

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
FILES = sorted(HISTORIES.glob("*.json"))


def test_recorded_histories_exist() -> None:
    """The replay suite has histories of the long-lived workflows to check (record them with
    tests/histories/record.py)."""
    kinds = {path.stem.split("--")[0] for path in FILES}
    assert {"ai-system", "approval", "dormancy-sweep"} <= kinds


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_history_replays_without_nondeterminism(path: Path) -> None:
    """Replaying a recorded history with the current code raises no nondeterminism error.

    `NAME@label.json` keeps an older recording of NAME (e.g. from before a patched change)."""
    workflow_id = path.stem.split("@")[0].replace("--", ":")
    history = WorkflowHistory.from_json(workflow_id, path.read_text())
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
