"""Dormancy (OWASP NHI1): idle credentials and systems, and which of them are findings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.classification import classify
from domain.contracts import SystemView
from domain.dormancy import SYSTEM_KEY, Dormant, dormant, ended, fresh, review_ticket_id
from domain.lifecycle import LifecycleState
from domain.manifest import parse_manifest
from domain.policy import Policy, parse_policy

NOW = datetime(2026, 12, 1, tzinfo=UTC)
CRED = "support-assistant-crm-reader"


def view_of(
    data: dict[str, Any], policy: Policy, state: LifecycleState, **extra: Any
) -> SystemView:
    """A system view registered 100 days before NOW in the given state."""
    manifest = parse_manifest(data)
    requirements = classify(manifest, policy, now=NOW)
    registered = NOW - timedelta(days=100)
    return SystemView(
        system_id=manifest.id,
        state=state,
        manifest=manifest,
        requirements=requirements,
        production_requirements=requirements,
        registered_at=registered,
        updated_at=registered,
        **extra,
    )


def test_a_production_credential_unused_past_the_bound_is_a_finding(
    support_data: dict[str, Any], policy: Policy
) -> None:
    """A production credential last used 45 days ago, with a 30-day bound, is dormant and a finding."""
    view = view_of(support_data, policy, LifecycleState.production)
    last = NOW - timedelta(days=45)
    found = dormant(view, {CRED: last}, last, NOW, 30)
    credential = next(d for d in found if d.credential_id == CRED)
    assert credential.idle_days == 45 and credential.finding
    assert credential.last_action_at == last
    system = next(d for d in found if d.credential_id is None)
    assert system.environment == "production" and not system.finding


def test_recent_use_keeps_a_credential_and_its_system_off_the_list(
    support_data: dict[str, Any], policy: Policy
) -> None:
    """A credential used 3 days ago is not dormant, and neither is its system."""
    view = view_of(support_data, policy, LifecycleState.production)
    recent = NOW - timedelta(days=3)
    assert dormant(view, {CRED: recent}, recent, NOW, 30) == []


def test_a_never_used_credential_is_idle_since_it_was_issued(
    support_data: dict[str, Any], policy: Policy
) -> None:
    """With no recorded action, the idle time counts from created_at (else registration)."""
    support_data["credentials"][0]["created_at"] = (NOW - timedelta(days=40)).isoformat()
    view = view_of(support_data, policy, LifecycleState.production)
    found = dormant(view, {}, None, NOW, 30)
    credential = next(d for d in found if d.credential_id == CRED)
    assert credential.last_action_at is None and credential.idle_days == 40
    system = next(d for d in found if d.credential_id is None)
    assert system.idle_days == 100


def test_a_pilot_is_listed_but_raises_no_finding(
    support_data: dict[str, Any], policy: Policy
) -> None:
    """On a pilot system an idle production credential is listed, not a finding."""
    view = view_of(support_data, policy, LifecycleState.pilot)
    found = dormant(view, {}, None, NOW, 30)
    assert [d.finding for d in found] == [False, False]


@pytest.mark.parametrize("state", [LifecycleState.registered, LifecycleState.retired])
def test_systems_not_expected_to_act_are_not_dormant(
    support_data: dict[str, Any], policy: Policy, state: LifecycleState
) -> None:
    """Registered, contained and retired systems are left out."""
    assert dormant(view_of(support_data, policy, state), {}, None, NOW, 30) == []


def test_zero_days_disables_and_revoked_credentials_are_left_out(
    support_data: dict[str, Any], policy: Policy
) -> None:
    """Bound 0 lists nothing; a credential being revoked is not reported idle."""
    view = view_of(support_data, policy, LifecycleState.production)
    assert dormant(view, {}, None, NOW, 0) == []
    revoking = view_of(
        support_data, policy, LifecycleState.production, revocations={CRED: "requested"}
    )
    assert [d.credential_id for d in dormant(revoking, {}, None, NOW, 30)] == [None]


def test_the_policy_bound_defaults_to_30_days_and_refuses_negatives() -> None:
    """credentials.dormancy_days defaults to 30; a negative value names the key."""
    assert Policy().credentials.dormancy_days == 30
    with pytest.raises(Exception, match="dormancy_days"):
        parse_policy({"credentials": {"dormancy_days": -1}})


def _item(credential: str | None, since: datetime, finding: bool = False) -> Dormant:
    """A dormant item of the support assistant idle since `since`."""
    return Dormant(
        system_id="support-assistant",
        credential_id=credential,
        environment="production",
        system_state="production",
        last_action_at=since,
        idle_since=since,
        idle_days=(NOW - since).days,
        finding=finding,
    )


def test_an_episode_opens_once_and_a_later_action_starts_a_new_one() -> None:
    """The first sweep opens an episode per item; the same idle-since continues it; a later
    idle-since (an action in between) is a new episode; an item gone ends its episode."""
    since = NOW - timedelta(days=40)
    first = [_item(CRED, since, finding=True), _item(None, since)]
    new, episodes = fresh({}, first)
    assert new == first
    assert set(episodes) == {CRED, SYSTEM_KEY} and episodes[CRED].finding
    assert episodes[CRED].ticket_id == review_ticket_id(first[0])

    again, same = fresh(episodes, first)
    assert again == [] and same == episodes

    later = NOW - timedelta(days=31)
    renewed, moved = fresh(episodes, [_item(CRED, later, finding=True)])
    assert [d.idle_since for d in renewed] == [later]
    assert set(moved) == {CRED} and moved[CRED].ticket_id != episodes[CRED].ticket_id

    assert fresh(episodes, []) == ([], {})


def test_a_pilot_promoted_while_idle_keeps_its_episode_and_becomes_a_finding() -> None:
    """The same idle credential, a finding now (its system was promoted): the episode goes on
    (no new review, nothing ended) and is marked a finding, so the sweep tells the system."""
    since = NOW - timedelta(days=40)
    _, episodes = fresh({}, [_item(CRED, since)])
    new, promoted = fresh(episodes, [_item(CRED, since, finding=True)])
    assert new == [] and promoted[CRED].finding and promoted != episodes
    assert ended(episodes, promoted) == []
    assert ended(episodes, {}) == [(CRED, episodes[CRED])]
