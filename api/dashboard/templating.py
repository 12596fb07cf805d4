"""The dashboard's Jinja2 environment (autoescaped templates next to this module)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from domain.approvals import may_decide

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"


def when(value: datetime | str | None) -> str:
    """A timestamp for people: UTC, to the minute."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def readable(value: Any) -> Markup:
    """A finding's or an audit entry's detail as a definition list (no raw JSON, no `True`)."""
    if isinstance(value, dict):
        if not value:
            return escape("—")
        pair = Markup("<dt>{}</dt><dd>{}</dd>")
        items = Markup("").join(
            pair.format(str(k).replace("_", " "), readable(v)) for k, v in value.items()
        )
        return Markup('<dl class="detail">{}</dl>').format(items)
    if isinstance(value, list):
        if not value:
            return escape("none")
        flat = all(not isinstance(v, dict | list) for v in value)
        return (Markup(", ") if flat else Markup("")).join(readable(v) for v in value)
    if isinstance(value, bool):
        return escape("yes" if value else "no")
    return escape("—") if value is None or value == "" else escape(str(value))


def breakable(path: str) -> Markup:
    """A dotted field path that may wrap after each dot (narrow screens), escaped."""
    return Markup(".<wbr>").join(escape(part) for part in path.split("."))


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["when"] = when
templates.env.filters["readable"] = readable
templates.env.filters["breakable"] = breakable
templates.env.globals["may_decide"] = may_decide


def lifecycle_svg(request: Any, system_id: str) -> Markup:
    """One system's lifecycle timeline as inline SVG (escaped by the chart builder)."""
    from api.dashboard.inventory import system_timeline

    return Markup(system_timeline(request.app.state.engine, system_id))  # noqa: S704


def ageing_svg(request: Any) -> Markup:
    """The pending approvals' age histogram as inline SVG (escaped by the chart builder)."""
    from api.dashboard.inventory import approval_ageing_svg

    return Markup(approval_ageing_svg(request.app.state.engine))  # noqa: S704


templates.env.globals["lifecycle_svg"] = lifecycle_svg
templates.env.globals["ageing_svg"] = ageing_svg
