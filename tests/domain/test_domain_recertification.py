"""Recertification deadlines and time-boxed exceptions, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import Conflict, InvalidInput
from domain.policy import Policy, RiskTier, Role, parse_policy
from domain.recertification import (
    RecertStep,
    bring_forward,
    due_steps,
    next_deadline,
    parse_window,
    recertification_roles,
    reschedule,
    start_cycle,
)
from domain.requirements import Gap
from domain.waivers import GapException, WaiverStatus, check_grant, next_expiry, unwaived

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
GAP = Gap(code="no_logging_policy", field="logging", message="no logging policy")


def test_a_high_risk_cycle_has_its_deadlines_in_order() -> None:
    """Reminder 14 days before the 90-day due date, overdue 7 days after it."""
    status = start_cycle(T0, RiskTier.high, Policy())
    assert status.due_at == T0 + 90 * DAY and status.remind_at == T0 + 76 * DAY
    assert status.overdue_at == T0 + 97 * DAY and status.contain_at is None
    assert next_deadline(status) == (T0 + 76 * DAY, RecertStep.remind)
    assert due_steps(status, T0 + 76 * DAY) == [RecertStep.remind]
    requested = status.model_copy(update={"reminded_at": T0 + 76 * DAY, "requested_at": T0})
    assert next_deadline(requested) == (T0 + 97 * DAY, RecertStep.overdue)


def test_recertifying_starts_the_next_cycle_from_now() -> None:
    """The due date resets from the recertification, not from the old due date."""
    first = start_cycle(T0, RiskTier.medium, Policy())
    second = start_cycle(T0 + 200 * DAY, RiskTier.medium, Policy(), previous=first)
    assert second.cycle == 2 and second.due_at == T0 + 380 * DAY
    assert second.last_certified_at == T0 + 200 * DAY


def test_a_late_timer_takes_every_step_due_and_skips_the_stale_reminder() -> None:
    """After downtime past every deadline: request, overdue and containment, no reminder."""
    policy = parse_policy({"recertification": {"contain_after_overdue_days": 10}})
    status = start_cycle(T0, RiskTier.high, policy)
    assert due_steps(status, T0 + 100 * DAY) == [RecertStep.request, RecertStep.overdue]
    assert due_steps(status, T0 + 120 * DAY)[-1] is RecertStep.contain
    overdue = status.model_copy(update={"requested_at": T0, "overdue_since": T0})
    assert next_deadline(overdue) == (T0 + 107 * DAY, RecertStep.contain)


def test_a_cadence_change_moves_the_pending_deadlines() -> None:
    """Rescheduling under a new policy moves the due date from the same cycle start."""
    status = start_cycle(T0, RiskTier.high, Policy())
    moved = reschedule(status, parse_policy({"recertification_days": {"high": 30}}))
    assert moved.due_at == T0 + 30 * DAY and moved.remind_at == T0 + 16 * DAY


def test_a_material_change_brings_the_due_date_forward() -> None:
    """Due no later than 30 days after a material change; never pushed back."""
    status = start_cycle(T0, RiskTier.low, Policy())
    forward = bring_forward(status, T0 + 10 * DAY, Policy())
    assert forward.due_at == T0 + 40 * DAY
    assert bring_forward(forward, T0 + 20 * DAY, Policy()).due_at == T0 + 40 * DAY


def test_security_attests_only_high_risk_systems() -> None:
    """Both owners always; security for a high-risk system."""
    assert Role.security in recertification_roles(RiskTier.high)
    assert recertification_roles(RiskTier.low) == [Role.business_owner, Role.technical_owner]


def test_windows_parse_and_bad_ones_name_the_field() -> None:
    """30d, 2w, 12h; anything else is refused naming the parameter."""
    assert parse_window("30d", "due_within") == 30 * DAY
    assert parse_window("2w", "x") == 14 * DAY and parse_window("12h", "x") == DAY / 2
    with pytest.raises(InvalidInput) as caught:
        parse_window("soon", "due_within")
    assert caught.value.problems[0].field == "due_within"


def _exception(**update: object) -> GapException:
    base = GapException(
        gap="no_logging_policy",
        until=T0 + 30 * DAY,
        reason="vendor fix",
        requested_by="rita@example.com",
        requested_at=T0,
        request_id="s-2",
        status=WaiverStatus.active,
    )
    return base.model_copy(update=update)


def test_an_active_exception_waives_its_gap_until_it_ends() -> None:
    """The gap is waived before `until`, counts again at `until`."""
    active = _exception()
    assert unwaived([GAP], [active], T0 + DAY) == []
    assert unwaived([GAP], [active], T0 + 30 * DAY) == [GAP]
    assert unwaived([GAP], [_exception(status=WaiverStatus.pending)], T0) == [GAP]
    assert next_expiry([active, _exception(request_id="s-3", until=T0 + DAY)]).request_id == "s-3"  # type: ignore[union-attr]


def test_a_grant_is_checked_against_the_policy_and_the_gaps() -> None:
    """Unknown or absent gap, past or too-long `until`, no reason: refused, fields named."""
    with pytest.raises(InvalidInput) as caught:
        check_grant(
            gap="no_use_case",
            until=T0 + 100 * DAY,
            reason=" ",
            now=T0,
            policy=Policy(),
            gaps=[GAP],
            exceptions=[],
        )
    assert [p.field for p in caught.value.problems] == ["gap", "until", "reason"]
    assert "max_days" in caught.value.problems[1].message
    with pytest.raises(Conflict):
        check_grant(
            gap="no_logging_policy",
            until=T0 + 10 * DAY,
            reason="again",
            now=T0,
            policy=Policy(),
            gaps=[GAP],
            exceptions=[_exception()],
        )


def test_policy_keys_are_validated_by_name() -> None:
    """A bad on_expiry value names its key."""
    with pytest.raises(InvalidInput) as caught:
        parse_policy({"exceptions": {"on_expiry": "ignore"}})
    assert caught.value.problems[0].field == "exceptions.on_expiry"
