"""Slack delivery for approval requests: post once per target, then update in place."""

from __future__ import annotations

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
from integrations.slack import ApprovalMessenger, SlackPermanentError, SlackRateLimited
from integrations.slack_blocks import approval_blocks, headline, reminder_text


def slack_targets(request: ApprovalRequest, channel: str | None) -> list[str]:
    """Everyone who may decide (plus the fallback group once escalated), then the channel."""
    people = [p for role in request.required_roles for p in request.eligible.get(role, [])]
    if request.escalated:
        people += request.fallback
    targets = sorted(set(people))
    return [*targets, f"#{channel}"] if channel else targets


def retry_later(exc: SlackRateLimited) -> ApplicationError:
    """A retryable failure that makes Temporal wait as long as Slack's Retry-After asks."""
    delay = timedelta(seconds=exc.retry_after or 1)
    return ApplicationError(str(exc), type="SlackRateLimited", next_retry_delay=delay)


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

    @activity.defn(name="sync_slack_messages")
    @shielded
    def sync_slack_messages(self, job: SlackSyncInput) -> SlackSyncResult:
        """Post the request to every target not yet reached and update the others in place."""
        if self._slack is None:
            return SlackSyncResult(enabled=False)
        request = job.request
        text = headline(request)
        blocks = approval_blocks(request, request_links(self._api_url, request, self._jira))
        with Session(self._engine) as session:
            known = slack_messages(session, request_id=request.id)
        result = SlackSyncResult(enabled=True)
        for target in slack_targets(request, self._channel):
            row = known.get(target)
            if row is not None and (row.error or row.version >= job.version):
                continue
            outcome = self._deliver(request.id, target, row, text, blocks, job.version)
            result = _tally(result, outcome, row is None)
        return result

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
        except SlackRateLimited as exc:
            raise retry_later(exc) from exc
        with Session(self._engine) as session:
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
        sent = 0
        for person in waiting:
            key = f"reminder:{person}"
            if key in known:
                continue
            try:
                channel, ts = self._slack.post(
                    self._channel_for(person), reminder_text(request), []
                )
            except SlackPermanentError as exc:
                channel, ts, sent = None, None, sent - 1
                activity.logger.warning("slack reminder refused for %s: %s", person, exc.code)
            except SlackRateLimited as exc:
                raise retry_later(exc) from exc
            with Session(self._engine) as session:
                remember_slack_message(
                    session, request_id=request.id, target=key, channel=channel, ts=ts, version=0
                )
                session.commit()
            sent += 1
        return sent

    @activity.defn(name="notify_people")
    @shielded
    def notify_people(self, notice: PeopleNotice) -> int:
        """Direct-message each person once per notice key; returns messages sent now."""
        if self._slack is None:
            return 0
        with Session(self._engine) as session:
            known = slack_messages(session, request_id=notice.key)
        sent = 0
        for person in sorted(set(notice.people)):
            if person in known:
                continue
            channel: str | None = None
            ts: str | None = None
            try:
                channel, ts = self._slack.post(self._channel_for(person), notice.text, [])
                sent += 1
            except SlackPermanentError as exc:
                activity.logger.warning("slack notice refused for %s: %s", person, exc.code)
            except SlackRateLimited as exc:
                raise retry_later(exc) from exc
            with Session(self._engine) as session:
                remember_slack_message(
                    session, request_id=notice.key, target=person, channel=channel, ts=ts, version=0
                )
                session.commit()
        return sent


def _tally(result: SlackSyncResult, problem: str | None, new: bool) -> SlackSyncResult:
    if problem:
        return result.model_copy(update={"problems": [*result.problems, problem]})
    field = "posted" if new else "updated"
    return result.model_copy(update={field: getattr(result, field) + 1})
