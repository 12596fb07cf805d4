"""Policy moves recertification: a new cadence moves the timer; long overdue closes the gate."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import yaml
from temporalio.testing import WorkflowEnvironment

from tests.e2e.test_promotion_tour import eventually
from tests.harness import ROOT, make_settings, running_stack
from tests.workflows.test_recertification_year import (
    SYSTEM,
    at,
    close_to,
    events,
    high_risk,
    recertify_by_all,
    state_is,
    to_production,
    until_count,
    view,
)

DAY = timedelta(days=1)


def write_policy(path: Path, **sections: object) -> Path:
    """The repository's policy with some sections replaced."""
    data = yaml.safe_load((ROOT / "policy.yaml").read_text())
    data.update(sections)
    path.write_text(yaml.safe_dump(data))
    return path


async def test_a_cadence_change_moves_the_pending_timer(
    ts_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Applying a 30-day cadence makes the 90-day cycle due at day 30 of the same cycle."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    settings.policy_file = write_policy(tmp_path / "policy.yaml")
    async with running_stack(ts_env.client, settings) as stack:
        await to_production(stack, high_risk())
        start = at((await events(stack, "entered_production"))[0])
        write_policy(
            settings.policy_file, recertification_days={"low": 365, "medium": 180, "high": 30}
        )
        applied = await stack.call("POST", "/policy/apply", "admin@threshold.local")
        assert applied.status_code == 200, applied.text
        assert "now due" in applied.json()["systems"][SYSTEM]
        assert (await view(stack))["recertification"]["cadence_days"] == 30
        await ts_env.sleep(31 * DAY)
        requested = await until_count(stack, "recertification_requested", 1)
        assert close_to(at(requested[0]), start + 30 * DAY)
        reminder = await until_count(stack, "recertification_reminder", 1)
        assert close_to(at(reminder[0]), start + 16 * DAY)
        listed = await stack.call(
            "GET", "/systems", "viewer@example.com", params={"due_within": "400d"}
        )
        assert [s["id"] for s in listed.json()["items"]] == [SYSTEM]


async def test_long_overdue_closes_the_gate_and_recertifying_reopens_it(
    ts_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """contain_after_overdue_days: 3 contains the system; recertifying puts it back."""
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", tmp_path)
    settings.policy_file = write_policy(
        tmp_path / "policy.yaml", recertification={"contain_after_overdue_days": 3}
    )
    async with running_stack(ts_env.client, settings) as stack:
        await to_production(stack, high_risk())
        start = at((await events(stack, "entered_production"))[0])
        await ts_env.sleep(101 * DAY)
        closed = await until_count(stack, "overdue_gate_closed", 1)
        assert close_to(at(closed[0]), start + 100 * DAY)
        assert await state_is(stack, "contained")
        gate = (await stack.call("GET", f"/systems/{SYSTEM}/gate", "viewer@example.com")).json()
        assert gate["allowed"] is False
        await recertify_by_all(stack)
        assert await eventually(lambda: state_is(stack, "production"))
        gate = (await stack.call("GET", f"/systems/{SYSTEM}/gate", "viewer@example.com")).json()
        assert gate["allowed"] is True
        detail = (await until_count(stack, "recertified", 1))[0]["detail"]
        assert json.loads(detail)["reopened"] is True
