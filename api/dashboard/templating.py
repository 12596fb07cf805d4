"""The dashboard's Jinja2 environment (autoescaped templates next to this module)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from markupsafe import Markup

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"


def when(value: datetime | str | None) -> str:
    """A timestamp for people: UTC, to the minute."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%Y-%m-%d %H:%M UTC")


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["when"] = when


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
