"""Slack delivery for approval requests: post once per target, then update in place."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.shield import shielded
from db.outbound import remember_slack_message, slack_messages
from db.tables import SlackMessageRow
from domain.approvals import ApprovalRequest
from domain.contracts import PeopleNotice, SlackSyncInput, SlackSyncResult
from integrations.slack import (
    ApprovalMessenger,
    SlackPermanentError,
    SlackTransientError,
)
from integrations.slack_blocks import approval_blocks, headline, reminder_text, requester_text
from integrations.slack_delivery import Delivery, deliver_each


def slack_targets(request: ApprovalRequest, channel: str | None) -> list[str]:
    """Everyone who may decide (plus the fallback group once escalated), then the channel."""
    people = [p for role in request.required_roles for p in request.eligible.get(role, [])]
    if request.escalated:
        people += request.fallback
    targets = sorted(set(people))
    return [*targets, f"#{channel}"] if channel else targets


def retry_rest(delivery: Delivery[str | None]) -> ApplicationError:
    """Retry only the recipients not reached, as late as the slowest Retry-After asks."""
    delay = delivery.retry_delay
    kind = "SlackRateLimited" if delay is not None else "SlackTransientError"
    wait = timedelta(seconds=delay) if delay is not None else None
    return ApplicationError(
        f"Slack did not take {len(delivery.retry)} message(s) yet: {delivery.summary()}",
        type=kind,
        next_retry_delay=wait,
    )


def request_links(
    api_url: str, request: ApprovalRequest, jira: tuple[str, str] | None = None
) -> dict[str, str]:
    """Where a person can see the request outside Slack; `jira` is (url, project)."""
    links = {
        "dashboard": f"{api_url}/requests/{request.id}",
        "API": f"{api_url}/api/v1/requests/{request.id}",
    }
    if jira and request.ticket and request.ticket.startswith(f"{jira[1]}-"):
        links[f"Jira {request.ticket}"] = f"{jira[0].rstrip('/')}/browse/{request.ticket}"
    return links


class SlackActivities:
    """Slack activities; with no messenger configured they do nothing and say so."""

    def __init__(
        self,
        messenger: ApprovalMessenger | None,
        engine: Engine,
        *,
        channel: str | None,
        api_url: str,
        jira: tuple[str, str] | None = None,
    ) -> None:
        self._slack = messenger
        self._engine = engine
        self._channel = channel
        self._api_url = api_url
        self._jira = jira
        self._db_lock = threading.Lock()  # recipients are posted to concurrently

    @activity.defn(name="sync_slack_messages")
    @shielded
    def sync_slack_messages(self, job: SlackSyncInput) -> SlackSyncResult:
        """Post the request to every target not yet reached and update the others in place."""
        if self._slack is None:
            return SlackSyncResult(enabled=False)
        request = job.request
        text = headline(request)
        links = request_links(self._api_url, request, self._jira)
        blocks = approval_blocks(request, links, self._mention(request.requester))
        with Session(self._engine) as session:
            known = slack_messages(session, request_id=request.id)
        due = [
            target
            for target in slack_targets(request, self._channel)
            if (row := known.get(target)) is None or not (row.error or row.version >= job.version)
        ]
        delivery = deliver_each(
            due,
            lambda target: self._deliver(
                request.id, target, known.get(target), text, blocks, job.version
            ),
        )
        result = SlackSyncResult(enabled=True)
        for target, problem in delivery.done.items():
            result = _tally(result, problem, known.get(target) is None)
        if delivery.retry:
            activity.logger.warning("slack will retry %s", delivery.summary())
            raise retry_rest(delivery)
        return result

    def _mention(self, email: str) -> str | None:
        """The requester as `<@U…>` when Slack knows their e-mail; None keeps the e-mail."""
        assert self._slack is not None
        try:
            return requester_text(email, self._slack.lookup_user_id(email))
        except (SlackPermanentError, SlackTransientError):
            return None

    def _deliver(
        self,
        request_id: str,
        target: str,
        row: SlackMessageRow | None,
        text: str,
        blocks: list[dict[str, object]],
        version: int,
    ) -> str | None:
        """Post or update one message; returns a problem text for a permanent failure."""
        assert self._slack is not None
        channel, ts, error = (row.channel, row.ts, None) if row else (None, None, None)
        try:
            if channel and ts:
                self._slack.update(channel, ts, text, blocks)
            else:
                channel, ts = self._slack.post(self._channel_for(target), text, blocks)
        except SlackPermanentError as exc:
            error = f"{target}: {exc}"
            activity.logger.warning("slack delivery refused for %s: %s", target, exc.code)
        with self._db_lock, Session(self._engine) as session:
            remember_slack_message(
                session,
                request_id=request_id,
                target=target,
                channel=channel,
                ts=ts,
                version=version,
                error=error,
            )
            session.commit()
        return error

    def _channel_for(self, target: str) -> str:
        assert self._slack is not None
        if target.startswith("#"):
            return target[1:]
        return self._slack.open_dm(self._slack.lookup_user_id(target))

    @activity.defn(name="remind_slack_approvers")
    @shielded
    def remind_slack_approvers(self, request: ApprovalRequest) -> int:
        """Direct-message each person a pending role waits for; returns reminders sent."""
        if self._slack is None:
            return 0
        waiting = sorted({p for role in request.pending_roles for p in request.holders(role)})
        with Session(self._engine) as session:
            known = slack_messages(session, request_id=request.id)
        due = [p for p in waiting if f"reminder:{p}" not in known]
        text = reminder_text(request)
        delivery = deliver_each(
            due, lambda person: self._direct(request.id, f"reminder:{person}", person, text)
        )
        if delivery.retry:
            raise retry_rest(delivery)
        return sum(1 for ts in delivery.done.values() if ts)

    @activity.defn(name="notify_people")
    @shielded
    def notify_people(self, notice: PeopleNotice) -> int:
        """Direct-message each person once per notice key; returns messages sent now."""
        if self._slack is None:
            return 0
        with Session(self._engine) as session:
            known = slack_messages(session, request_id=notice.key)
        due = [p for p in sorted(set(notice.people)) if p not in known]
        delivery = deliver_each(
            due, lambda person: self._direct(notice.key, person, person, notice.text)
        )
        if delivery.retry:
            raise retry_rest(delivery)
        return sum(1 for ts in delivery.done.values() if ts)

    def _direct(self, key: str, target: str, person: str, text: str) -> str | None:
        """DM one person once under `key`/`target`; the message ts, None when Slack refused."""
        assert self._slack is not None
        channel: str | None = None
        ts: str | None = None
        try:
            channel, ts = self._slack.post(self._channel_for(person), text, [])
        except SlackPermanentError as exc:
            activity.logger.warning("slack message refused for %s: %s", person, exc.code)
        with self._db_lock, Session(self._engine) as session:
            remember_slack_message(
                session, request_id=key, target=target, channel=channel, ts=ts, version=0
            )
            session.commit()
        return ts


def _tally(result: SlackSyncResult, problem: str | None, new: bool) -> SlackSyncResult:
    if problem:
        return result.model_copy(update={"problems": [*result.problems, problem]})
    field = "posted" if new else "updated"
    return result.model_copy(update={field: getattr(result, field) + 1})
