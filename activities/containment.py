"""Containment activities: hand a credential to the revoker."""

from __future__ import annotations

from temporalio import activity

from activities.shield import shielded
from domain.contracts import RevokeInput, RevokeResult
from integrations.revoker import Revocation


class ContainmentActivities:
    """Activities over the configured revoker."""

    def __init__(self, revoker: Revocation, name: str) -> None:
        self._revoker = revoker
        self._name = name

    @activity.defn(name="revoke_credential")
    @shielded
    def revoke_credential(self, job: RevokeInput) -> RevokeResult:
        """Revoke one credential; a refusal is reported (confirmed false), errors retried."""
        confirmed, detail = self._revoker.revoke(job.system_id, job.credential, job.reason)
        activity.logger.info(
            "revocation of %s for %s: %s", job.credential.id, job.system_id, confirmed
        )
        return RevokeResult(confirmed=confirmed, revoker=self._name, detail=detail)
