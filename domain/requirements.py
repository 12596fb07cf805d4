"""What governance a system needs: triggers, gaps and the requirements they add up to."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domain.policy import RiskTier, Role


class Trigger(BaseModel):
    """One reason production governance applies."""

    model_config = ConfigDict(frozen=True)
    code: str
    reason: str


class Gap(BaseModel):
    """Something missing or unsafe that blocks promotion until fixed or waived."""

    model_config = ConfigDict(frozen=True)
    code: str
    field: str
    message: str
    nhi: str | None = Field(
        default=None, description="OWASP Non-Human Identity Top 10 (2025) id, e.g. NHI8."
    )


class GovernanceRequirements(BaseModel):
    """What governance a system needs, derived from its manifest and the policy."""

    model_config = ConfigDict(frozen=True)
    applies: bool
    triggers: list[Trigger] = Field(default_factory=list)
    exemption: str | None = None
    risk_tier: RiskTier
    required_roles: list[Role]
    recertification_days: int
    gaps: list[Gap] = Field(default_factory=list)

    @property
    def blocking_gaps(self) -> list[Gap]:
        """Gaps that block promotion (all of them once governance applies)."""
        return list(self.gaps) if self.applies else []
