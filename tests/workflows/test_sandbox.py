"""The sandbox checks every line of workflow code; only pure modules pass through it."""

from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path
from typing import get_type_hints

import pytest

import worker
from activities.containment import ContainmentActivities
from activities.dormancy import DormancyActivities
from activities.jira import ChangeTicketActivities
from activities.ledger import LedgerActivities
from activities.slack import SlackActivities
from activities.webhooks import WebhookActivities
from workflows import effects

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"domain", "workflows", "activities", "integrations", "db", "api", "cli", "core"}
PURE_THIRD_PARTY = {"pydantic", "pydantic_core", "annotated_types", "typing_extensions"}
IMPLEMENTATIONS = [
    LedgerActivities,
    SlackActivities,
    ChangeTicketActivities,
    ContainmentActivities,
    WebhookActivities,
    DormancyActivities,
]


def _imports(path: Path) -> set[str]:
    """Top-level module names a file imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_pure_first_party_code_passes_through() -> None:
    """The pass-through list names no first-party package but domain/ (workflows/ is checked)."""
    passed = set(worker.PASSTHROUGH)
    assert passed & FIRST_PARTY == {"domain"}
    restrictions = worker.sandbox_restrictions()
    assert "workflows" not in restrictions.passthrough_modules
    assert "domain" in restrictions.passthrough_modules


@pytest.mark.parametrize("path", sorted((ROOT / "domain").glob("*.py")), ids=lambda p: p.name)
def test_domain_modules_import_only_the_standard_library_and_pydantic(path: Path) -> None:
    """Every module that passes through imports nothing but stdlib, pydantic and domain/."""
    foreign = {
        name
        for name in _imports(path)
        if name not in sys.stdlib_module_names and name not in PURE_THIRD_PARTY | {"domain"}
    }
    assert not foreign, f"{path.name} imports {sorted(foreign)}: domain/ must stay pure"


@pytest.mark.parametrize("path", sorted((ROOT / "workflows").glob("*.py")), ids=lambda p: p.name)
def test_workflow_modules_pass_nothing_through_by_hand(path: Path) -> None:
    """No workflow module opts out of the sandbox with `imports_passed_through`."""
    assert "imports_passed_through" not in path.read_text()
    banned = _imports(path) & (FIRST_PARTY - {"domain", "workflows"})
    assert not banned, f"{path.name} imports {sorted(banned)} into workflow code"


@pytest.mark.parametrize("declared", effects.DECLARED, ids=lambda f: f.__name__)
def test_each_declared_activity_has_one_implementation_of_the_same_shape(declared: object) -> None:
    """Workflows call activities by reference; the worker registers one implementation of each,
    under the same name, taking and returning the same types."""
    name = declared.__name__  # type: ignore[attr-defined]
    found = [
        getattr(cls, attr)
        for cls in IMPLEMENTATIONS
        for attr in vars(cls)
        if getattr(getattr(cls, attr), "__temporal_activity_definition", None) is not None
        and getattr(cls, attr).__temporal_activity_definition.name == name
    ]
    assert len(found) == 1, f"{name}: {len(found)} implementations"
    want = get_type_hints(declared)
    have = get_type_hints(inspect.unwrap(found[0]))
    have.pop("self", None)
    assert list(want.values()) == list(have.values()), f"{name}: {want} != {have}"


@pytest.mark.parametrize("package", ["db", "activities", "cli", "integrations", "core", "api"])
def test_outer_layers_import_workflows_only_to_name_them(package: str) -> None:
    """db/, activities/, cli/ and friends use the contracts in domain/; only api/ names the
    two workflows (to send their updates and queries), never their internals."""
    named = {"workflows.ai_system", "workflows.approval"} if package == "api" else set()
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("workflows"):
                assert node.module in named, f"{path.relative_to(ROOT)} imports {node.module}"
            if isinstance(node, ast.Import):
                bad = [a.name for a in node.names if a.name.startswith("workflows")]
                assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
