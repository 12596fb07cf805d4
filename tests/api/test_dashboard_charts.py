"""The dashboard's SVG pictures, built by pure functions: the shapes a reader sees."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from api.dashboard import charts

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_timeline_shows_each_state_with_its_duration_and_requests() -> None:
    """Three lifecycle moves give three bands labelled state, duration and the requests then."""
    events = [
        (T0, "registered", None),
        (T0 + timedelta(days=2), "promotion_pending", "req-1"),
        (T0 + timedelta(days=2, hours=6), "production", None),
    ]
    svg = charts.lifecycle_timeline(charts.stays(events, T0 + timedelta(days=5)))
    assert svg.count("<rect") == 3
    assert "registered for 2.0 d" in svg
    assert "promotion_pending for 6.0 h · req-1" in svg
    assert "production for 2.8 d" in svg


def test_timeline_without_events_says_none() -> None:
    """A system without lifecycle moves shows an empty picture saying so."""
    assert "none" in charts.lifecycle_timeline([]) and "<rect" not in charts.lifecycle_timeline([])


def test_ageing_histogram_has_one_bar_per_bucket() -> None:
    """Pending approvals fall into five age buckets, each a labelled bar with its count."""
    ages = [timedelta(hours=2), timedelta(days=2), timedelta(days=2.5), timedelta(days=30)]
    assert charts.age_buckets(ages) == [
        ("< 1 d", 1),
        ("1-3 d", 2),
        ("3-7 d", 0),
        ("7-14 d", 0),
        ("≥ 14 d", 1),
    ]
    svg = charts.approval_ageing(ages)
    assert svg.count('<g class="bar">') == 5
    assert "1-3 d: 2" in svg


def test_calendar_has_ninety_days_and_marks_due_dates() -> None:
    """The calendar shows 90 days; a recertification due on day 10 is marked, later ones not."""
    today = date(2026, 3, 1)
    events = [
        (today + timedelta(days=10), "recertification", "sys-a"),
        (today + timedelta(days=95), "expiry", "sys-b"),
    ]
    svg = charts.calendar(today, events)
    assert svg.count("<rect") == 90
    assert svg.count("has-recertification") == 1
    assert "2026-03-11: recertification sys-a" in svg
    assert "sys-b" not in svg


def test_weekly_findings_draw_opened_and_acknowledged_bars() -> None:
    """Each week has an opened and an acknowledged bar, titled with the counts (what closes a
    finding is its acknowledgement, and the picture says so)."""
    weeks = [(date(2026, 1, 5), 3, 1), (date(2026, 1, 12), 0, 2)]
    svg = charts.findings_weekly(weeks)
    assert svg.count('class="bar opened"') == 2 and svg.count('class="bar acknowledged"') == 2
    assert "week of 2026-01-05: 3 opened" in svg and "week of 2026-01-12: 2 acknowledged" in svg
    assert "closed" not in svg


def test_labels_are_escaped() -> None:
    """A state or request id with markup is shown as text, never as SVG elements."""
    events = [(T0, "<script>x</script>", "r&1")]
    svg = charts.lifecycle_timeline(charts.stays(events, T0 + timedelta(hours=1)))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "r&amp;1" in svg
    assert not re.search(r"<(?!/?(svg|title|g|rect|text)\b)", svg)
