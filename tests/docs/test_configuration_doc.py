"""docs/configuration.md names every setting `core/settings.py` reads, and no setting it lacks."""

from __future__ import annotations

import re

from pydantic import BaseModel

from core.settings import Settings
from tests.harness import ROOT

PAGE = ROOT / "docs" / "configuration.md"
NESTED = re.compile(r"THRESHOLD_[A-Z]+__[A-Z_]+")


def setting_variables() -> set[str]:
    """Every environment variable `Settings` reads: THRESHOLD_<FIELD> or THRESHOLD_<SECTION>__<FIELD>."""
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            names |= {f"THRESHOLD_{name}__{sub}".upper() for sub in section.model_fields}
        else:
            names.add(f"THRESHOLD_{name}".upper())
    return names


def test_every_setting_is_documented() -> None:
    """A setting added to core/settings.py without a row in docs/configuration.md is caught."""
    text = PAGE.read_text(encoding="utf-8")
    missing = sorted(name for name in setting_variables() if f"`{name}`" not in text)
    assert not missing, f"docs/configuration.md lacks: {', '.join(missing)}"


def test_no_documented_setting_is_gone() -> None:
    """A section setting the page names but `Settings` no longer reads is caught."""
    documented = set(NESTED.findall(PAGE.read_text(encoding="utf-8")))
    stale = sorted(documented - setting_variables())
    assert not stale, f"docs/configuration.md names settings that do not exist: {', '.join(stale)}"
