"""Audit actions: one enum, every action used in the code a member, every member sectioned and mapped."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import yaml

from domain.approvals import RequestStatus
from domain.audit import OPERATIONAL, SECTION, AuditAction, EvidenceSection
from domain.crosswalk import CATALOGUE, EVIDENCE, crosswalk
from domain.evidence import manifest_facts, section_of
from domain.manifest import AISystemManifest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("workflows", "activities", "api", "db", "domain", "integrations", "core")
# f-string actions in the code: the prefix and the outcomes its status can take there
OUTCOMES = {
    "promotion_": [s.value for s in RequestStatus if s is not RequestStatus.pending],
    "revalidation_": [s.value for s in RequestStatus if s is not RequestStatus.pending],
    "recertification_": ["rejected", "expired", "withdrawn"],
    "release_": ["rejected", "expired", "withdrawn"],
    "decision_": ["approved", "rejected"],
    "action_approval_": [s.value for s in RequestStatus if s is not RequestStatus.pending],
}


def _action_args(tree: ast.AST) -> Iterator[ast.expr]:
    """Expressions passed as an audit action: `_event(actor, ACTION, ...)` or `action=ACTION`."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        if name == "_event" and len(node.args) >= 2:
            yield node.args[1]
        if name in ("_event", "event", "AuditEvent", "_ticket", "_close_gate"):
            yield from (k.value for k in node.keywords if k.arg == "action")
        if name in ("_ticket", "_close_gate") and len(node.args) >= 2:
            yield node.args[1]


def _strings(expr: ast.expr) -> Iterator[str]:
    """Every action string an expression can produce (literals, conditionals, f-string prefixes)."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        yield expr.value
    elif isinstance(expr, ast.Attribute) and getattr(expr.value, "id", "") in ("A", "AuditAction"):
        yield expr.attr
    elif (
        isinstance(expr, ast.Call)
        and getattr(expr.func, "id", "") == "audit_action"
        and isinstance(expr.args[0], ast.Constant)
    ):
        prefix = f"{expr.args[0].value!s}_"
        assert prefix in OUTCOMES, f"unknown dynamic audit action {ast.unparse(expr)}"
        yield from (f"{prefix}{outcome}" for outcome in OUTCOMES[prefix])
    elif isinstance(expr, ast.JoinedStr | ast.BinOp):
        first = expr.values[0] if isinstance(expr, ast.JoinedStr) else expr.left
        prefix = str(first.value) if isinstance(first, ast.Constant) else ""
        assert prefix in OUTCOMES, f"unknown dynamic audit action {ast.unparse(expr)}"
        yield from (f"{prefix}{outcome}" for outcome in OUTCOMES[prefix])
    elif isinstance(expr, ast.IfExp):
        yield from _strings(expr.body)
        yield from _strings(expr.orelse)


def _assigned_actions(tree: ast.AST) -> Iterator[str]:
    """Strings assigned to `action` in a function that passes `action` on as an audit action."""
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        passed = any(isinstance(e, ast.Name) and e.id == "action" for e in _action_args(func))
        for node in ast.walk(func) if passed else ():
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "action" for t in node.targets
            ):
                value = node.value
                if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Dict):
                    for item in value.value.values:
                        yield from _strings(item)
                else:
                    yield from _strings(value)


def used_actions() -> dict[str, str]:
    """Every audit action string in the source, with where it was found."""
    found: dict[str, str] = {}
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for text in [s for e in _action_args(tree) for s in _strings(e)]:
                found.setdefault(text, str(path.relative_to(ROOT)))
            for text in _assigned_actions(tree):
                found.setdefault(text, str(path.relative_to(ROOT)))
    return found


def test_every_action_in_the_code_is_an_enum_member() -> None:
    """No audit action is written that the enum (and so the crosswalk) does not know."""
    used = used_actions()
    members = {a.value for a in AuditAction}
    unknown = {action: where for action, where in used.items() if action not in members}
    assert not unknown
    # the scan does see the actions the old crosswalk missed
    assert {"release_rejected", "exception_gate_closed", "credential_revocation_failed"} <= set(
        used
    )


def test_every_member_has_a_section_and_controls_or_is_operational() -> None:
    """Each governance action sits in a pack section and supports a catalogued control."""
    ids = {c.id for c in CATALOGUE}
    for action in AuditAction:
        assert action in SECTION, action
        if action in OPERATIONAL:
            assert SECTION[action] is EvidenceSection.operations, action
            assert action not in EVIDENCE, action
        else:
            assert SECTION[action] is not EvidenceSection.operations, action
            assert EVIDENCE.get(action), action
            assert set(EVIDENCE[action]) <= ids, action
        assert section_of(action) == SECTION[action].value


def test_no_action_lands_unmapped_in_a_crosswalk() -> None:
    """A pack holding one of every governance action reports no unmapped evidence."""
    counts = {a.value: 1 for a in AuditAction if a not in OPERATIONAL}
    assert crosswalk(counts).unmapped == []


def test_third_party_credentials_support_nhi3() -> None:
    """A manifest with a vendor API key supports NHI3 (vulnerable third-party NHI)."""
    data = yaml.safe_load((ROOT / "examples/internal-summariser.yaml").read_text())
    facts = manifest_facts(AISystemManifest.model_validate(data))
    assert facts["third_party_credentials"] >= 1
    supported = {item.control.id for item in crosswalk(facts).supported}
    assert "NHI3" in supported
