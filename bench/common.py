"""Names every benchmark shares: the tests' people and repository root, and the bench's roles."""

from __future__ import annotations

from tests.harness import BUSINESS, REQUESTER, ROOT, SECURITY, TECH

__all__ = ["BUSINESS", "POLICY", "PRINCIPALS", "REQUESTER", "ROOT", "SECURITY", "TECH"]

POLICY = ROOT / "policy.yaml"
PRINCIPALS = {BUSINESS: "approver", TECH: "approver", SECURITY: "approver", REQUESTER: "emitter"}
