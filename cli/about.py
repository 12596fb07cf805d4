"""`threshold --version`: the installed package version (pyproject's when run from a checkout)."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import typer

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def package_version() -> str:
    """The version of the `threshold` distribution, else the one pyproject.toml declares."""
    try:
        return metadata.version("threshold")
    except metadata.PackageNotFoundError:
        try:
            return str(tomllib.loads(PYPROJECT.read_text())["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def show_version(value: bool) -> None:
    """Eager `--version` callback: print `threshold <version>` and exit 0."""
    if value:
        typer.echo(f"threshold {package_version()}")
        raise typer.Exit(0)
