"""The dashboard's Jinja2 environment (autoescaped templates next to this module)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates

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
