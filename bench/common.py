"""Names every benchmark shares: the repository root and the principals that act."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "policy.yaml"

BUSINESS = "dana.business@example.com"
TECH = "tom.tech@example.com"
SECURITY = "sam.security@example.com"
REQUESTER = "rita.requester@example.com"
PRINCIPALS = {BUSINESS: "approver", TECH: "approver", SECURITY: "approver", REQUESTER: "emitter"}
