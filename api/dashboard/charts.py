"""Pictures for the dashboard: pure functions from data to inline SVG strings (escaped)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape

WIDTH = 640
BAR_AREA = 140
AGE_BUCKETS = (("< 1 d", 1), ("1-3 d", 3), ("3-7 d", 7), ("7-14 d", 14), ("≥ 14 d", None))


def _svg(height: int, label: str, body: list[str], width: int = WIDTH, css: str = "") -> str:
    """An accessible SVG element that scales to its container."""
    return (
        f'<svg class="chart{css}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>{''.join(body)}</svg>"
    )


def duration(seconds: float) -> str:
    """A duration for people: days, hours or minutes."""
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{max(0, int(seconds // 60))} min"


@dataclass(frozen=True)
class Stay:
    """One lifecycle state a system was in, from `start` to `end`, and the requests then."""

    state: str
    start: datetime
    end: datetime
    requests: tuple[str, ...] = ()


def stays(events: Sequence[tuple[datetime, str, str | None]], until: datetime) -> list[Stay]:
    """Lifecycle stays from (at, state entered, request id) events, oldest first."""
    ordered = sorted(events, key=lambda e: e[0])
    found: list[Stay] = []
    for index, (at, state, _) in enumerate(ordered):
        end = ordered[index + 1][0] if index + 1 < len(ordered) else until
        requests = tuple(sorted({r for t, _, r in ordered if r and at <= t < end} - {None}))
        found.append(Stay(state, at, max(end, at), requests))
    return found


def lifecycle_timeline(items: Sequence[Stay]) -> str:
    """A horizontal band per stay, width by duration, labelled with state and duration."""
    if not items:
        return _svg(40, "Lifecycle timeline: no states yet", ['<text x="4" y="24">none</text>'])
    total = max(1.0, sum((s.end - s.start).total_seconds() for s in items))
    row = 34
    body: list[str] = []
    x = 0.0
    for index, stay in enumerate(items):
        seconds = (stay.end - stay.start).total_seconds()
        width = max(2.0, WIDTH * seconds / total)
        y = index * row
        note = f"{stay.state} for {duration(seconds)}"
        if stay.requests:
            note += " · " + ", ".join(stay.requests)
        body.append(
            f'<g class="stay state-{escape(stay.state)}"><title>{escape(note)}</title>'
            f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="14"/>'
            f'<text x="{min(x, WIDTH - 200):.1f}" y="{y + 27}">{escape(note)}</text></g>'
        )
        x = min(WIDTH - 2.0, x + width)
    return _svg(row * len(items) + 4, "Lifecycle timeline", body)


def bars(title: str, pairs: Sequence[tuple[str, int]]) -> str:
    """A bar chart: one labelled bar per (label, count)."""
    top = max([n for _, n in pairs] + [1])
    slot = WIDTH / max(1, len(pairs))
    body: list[str] = []
    for index, (label, count) in enumerate(pairs):
        height = BAR_AREA * count / top
        x = index * slot + slot * 0.15
        body.append(
            f'<g class="bar"><title>{escape(label)}: {count}</title>'
            f'<rect x="{x:.1f}" y="{20 + BAR_AREA - height:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{height:.1f}"/>'
            f'<text class="count" x="{x:.1f}" y="{16 + BAR_AREA - height:.1f}">{count}</text>'
            f'<text x="{x:.1f}" y="{BAR_AREA + 38}">{escape(label)}</text></g>'
        )
    return _svg(BAR_AREA + 46, title, body)


def age_buckets(ages: Sequence[timedelta]) -> list[tuple[str, int]]:
    """Pending approvals counted per age bucket."""
    counts = [0] * len(AGE_BUCKETS)
    for age in ages:
        days = age.total_seconds() / 86400
        index = next(i for i, (_, top) in enumerate(AGE_BUCKETS) if top is None or days < top)
        counts[index] += 1
    return [(label, counts[i]) for i, (label, _) in enumerate(AGE_BUCKETS)]


def approval_ageing(ages: Sequence[timedelta]) -> str:
    """A histogram of pending approvals by age."""
    return bars("Pending approvals by age", age_buckets(ages))


def calendar(today: date, events: Sequence[tuple[date, str, str]], days: int = 90) -> str:
    """A `days`-long calendar from `today`, one cell per day, marking (day, kind, what) events."""
    by_day: dict[date, list[tuple[str, str]]] = {}
    for day, kind, what in events:
        if today <= day < today + timedelta(days=days):
            by_day.setdefault(day, []).append((kind, what))
    cell, cols = 20, 7
    weeks = -(-days // cols)
    body: list[str] = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        x, y = (offset % cols) * cell * 2, (offset // cols) * cell
        marks = by_day.get(day, [])
        kinds = sorted({k for k, _ in marks})
        css = "day " + " ".join(f"has-{escape(k)}" for k in kinds) if kinds else "day"
        note = f"{day.isoformat()}: " + ("; ".join(f"{k} {w}" for k, w in marks) or "nothing due")
        body.append(
            f'<g class="{css.strip()}"><title>{escape(note)}</title>'
            f'<rect x="{x}" y="{y}" width="{cell * 2 - 2}" height="{cell - 2}"/>'
            f'<text x="{x + 3}" y="{y + 14}">{day.day}{"•" * min(3, len(marks))}</text></g>'
        )
    return _svg(
        weeks * cell + 4, f"Recertifications and expiries, next {days} days", body, 280, " calendar"
    )


def findings_weekly(weeks: Sequence[tuple[date, int, int]]) -> str:
    """Findings opened vs acknowledged per week: two bars per week.

    Acknowledgement is the recorded way a finding closes (retirement drops a system's findings
    from the open count, not counted here); containment and release leave findings open.
    """
    top = max([max(o, c) for _, o, c in weeks] + [1])
    slot = WIDTH / max(1, len(weeks))
    body: list[str] = []
    for index, (start, opened, closed) in enumerate(weeks):
        x = index * slot + slot * 0.1
        for shift, (kind, count) in enumerate((("opened", opened), ("acknowledged", closed))):
            height = BAR_AREA * count / top
            body.append(
                f'<g class="bar {kind}"><title>week of {start.isoformat()}: {count} {kind}</title>'
                f'<rect x="{x + shift * slot * 0.4:.1f}" y="{20 + BAR_AREA - height:.1f}" '
                f'width="{slot * 0.38:.1f}" height="{height:.1f}"/></g>'
            )
        body.append(f'<text x="{x:.1f}" y="{BAR_AREA + 38}">{start.strftime("%m-%d")}</text>')
    return _svg(BAR_AREA + 46, "Findings opened and acknowledged per week", body)
