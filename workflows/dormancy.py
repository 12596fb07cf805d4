"""Dormancy reviews on `AISystemWorkflow` (mixed in): each new episode is audited and reviewed.

The sweep (`workflows/sweep.py`) sends the `dormant` signal with the system's dormant items.
An item starts an episode unless the same credential (or the system) is already dormant since
the same moment; each new episode is audited, the owners are told, and a review ticket goes
to the technical owner. Dormancy never revalidates or contains: it is a review, not a breach
(the finding the sweep stores for an unused production credential does not go through
`actions.on_finding`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import workflow

from domain.audit import AuditAction as A
from domain.contracts import DormancyEpisode, GovernanceTicketInput, SystemView, ticket_people
from domain.dormancy import WATCHED, DormancySignal, Dormant, ended, fresh, review_ticket_id
from workflows.host import SystemHost


class Dormancy(SystemHost):
    """The dormancy half of `AISystemWorkflow` (state lives in `SystemView.dormancy`)."""

    if TYPE_CHECKING:

        def _notify(self, key: str, people: list[str], text: str) -> None: ...
        def _ticket(self, job: GovernanceTicketInput, action: A) -> None: ...
        def _owners(self, view: SystemView) -> list[str]: ...

    @workflow.signal
    def dormant(self, signal: DormancySignal) -> None:
        """A sweep's finding for this system: open a review for each new dormancy episode."""
        view = self._view
        if view is None or view.state not in WATCHED:
            return
        items = [d for d in signal.items if d.system_id == self._id]
        new, episodes = fresh(view.dormancy, items)
        if episodes == view.dormancy:
            return
        self._internal(view.model_copy(update={"dormancy": episodes}))
        for key, episode in ended(view.dormancy, episodes):
            self._end_review(view, key, episode, signal)
        for item in new:
            self._review(view, item, signal.days)

    def _end_review(
        self, view: SystemView, key: str, episode: DormancyEpisode, signal: DormancySignal
    ) -> None:
        """An episode ended (an action since, or the credential is gone): close its review."""
        manifest = view.in_force
        name = f"{manifest.name} ({self._id})"
        what = f"credential {key} of {name}" if key else name
        note = (
            f"No longer dormant as of {signal.at:%Y-%m-%d}: {what} has a recorded action since "
            f"{episode.idle_since:%Y-%m-%d}, or the credential is no longer bound. Closing."
        )
        self._ticket(
            GovernanceTicketInput(
                ticket_id=episode.ticket_id,
                system_id=self._id,
                kind=A.credential_dormant if key else A.system_dormant,
                summary=f"Dormant: {what}",
                description=note,
                notes=[("dormancy_ended", note)],
                close=True,
            ),
            A.dormancy_ticket_closed,
        )

    def _review(self, view: SystemView, item: Dormant, days: int) -> None:
        """Audit one new episode, tell the owners, open the review ticket."""
        ticket_id = review_ticket_id(item)
        manifest = view.in_force
        assignee, watchers = ticket_people(manifest)
        name = f"{manifest.name} ({self._id})"
        what = f"credential {item.credential_id} of {name}" if item.credential_id else name
        last = f"{item.last_action_at:%Y-%m-%d}" if item.last_action_at else "never"
        self._event(
            "threshold",
            A.credential_dormant if item.credential_id else A.system_dormant,
            credential_id=item.credential_id,
            environment=item.environment,
            idle_since=item.idle_since.isoformat(),
            idle_days=item.idle_days,
            last_action_at=item.last_action_at.isoformat() if item.last_action_at else None,
            days=days,
            finding=item.finding,
            ticket_id=ticket_id,
        )
        text = (
            f"{what[0].upper()}{what[1:]} has no recorded action for "
            f"{item.idle_days} days (last: {last}; policy credentials.dormancy_days = {days}). "
            + (
                "Revoke the credential or record why it is kept."
                if item.credential_id
                else "Retire the system or record why it is kept."
            )
        )
        self._notify(f"dormant:{ticket_id}", self._owners(view), text)
        finding = (
            ["*Finding:* credential_dormant (NHI1), an unused production credential"]
            if item.finding
            else []
        )
        self._ticket(
            GovernanceTicketInput(
                ticket_id=ticket_id,
                system_id=self._id,
                kind=A.credential_dormant if item.credential_id else A.system_dormant,
                summary=f"Dormant: {what}, {item.idle_days} days without an action",
                description="\n".join(
                    [
                        text,
                        "",
                        f"*Environment:* {item.environment} (system {item.system_state})",
                        f"*Idle since:* {item.idle_since.isoformat()}",
                        *finding,
                        f"*Assignee:* {manifest.technical_owner} (technical owner)",
                        f"*Business owner:* {manifest.business_owner}",
                    ]
                ),
                assignee=assignee,
                watchers=watchers,
            ),
            A.dormancy_ticket_opened,
        )
