"""Change-request tickets in Jira, through the official `jira` client.

Errors: `TrackerTransientError` (HTTP 5xx or 429, connection failures, timeouts) may pass on
a later attempt; `TrackerPermanentError` (401, 403, 404, refused fields) says what a person
must change; its subclass `TransitionUnavailable` says the workflow offers no way to close the
issue. The client never retries on its own (`max_retries=0`): Temporal retries the activity.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

import requests
from jira import JIRA, JIRAError

from integrations.errors import PermanentIntegrationError, TransientIntegrationError
from integrations.jira_transitions import DONE_CATEGORY, TransitionPlan, plan_transition

if TYPE_CHECKING:
    from core.settings import JiraSettings

LOG = logging.getLogger(__name__)
OPTIONAL_FIELDS = ("assignee", "duedate")  # left out, with a warning, when Jira refuses them
LABEL = re.compile(r"[^\s\"'\\]+")
SUMMARY_LIMIT = 255
CREDENTIALS_HINT = (
    "Jira Cloud: set THRESHOLD_JIRA__USER to the account e-mail and THRESHOLD_JIRA__API_TOKEN "
    "to an API token; Data Center: leave THRESHOLD_JIRA__USER empty and set "
    "THRESHOLD_JIRA__API_TOKEN to a personal access token"
)


class TrackerTransientError(TransientIntegrationError):
    """Jira failed in a way that may pass (5xx, 429, timeout, connection refused)."""


class TrackerPermanentError(PermanentIntegrationError):
    """Jira refused the request; the message says what to fix."""


class TransitionUnavailable(TrackerPermanentError):
    """The workflow has no transition by that name and none into the wanted category."""

    def __init__(self, message: str, available: Sequence[str]) -> None:
        super().__init__(message)
        self.available = list(available)


class ChangeTracker(Protocol):
    """What governance activities need from an issue tracker."""

    def find_by_label(self, label: str) -> str | None:
        """Return the key of the oldest issue carrying `label`, if any."""
        ...

    def ensure_issue(
        self,
        label: str,
        summary: str,
        description: str,
        assignee: str | None = None,
        due: date | None = None,
        labels: Sequence[str] = (),
    ) -> str:
        """Return the key of the issue with `label`, creating it only when none exists."""
        ...

    def comment(self, key: str, body: str) -> None:
        """Add a comment to an issue."""
        ...

    def find_user(self, email: str) -> str | None:
        """The assignee reference of the person with this e-mail (None when Jira has none)."""
        ...

    def add_watcher(self, key: str, email: str) -> None:
        """Make the person with this e-mail a watcher of an issue (idempotent)."""
        ...

    def transition(
        self, key: str, name: str, *, category: str = DONE_CATEGORY, prefer: Sequence[str] = ()
    ) -> TransitionPlan | None:
        """Move an issue to `name`, else into a status of `category`; None when already there.

        Raises `TransitionUnavailable` when the workflow offers neither.
        """
        ...

    def has_comment(self, key: str, marker: str) -> bool:
        """Whether a comment on the issue contains `marker`."""
        ...

    def browse_url(self, key: str) -> str:
        """Where a person sees the issue."""
        ...


def _check_label(label: str) -> str:
    """Refuse labels Jira would reject or JQL would misread (spaces, quotes)."""
    if not LABEL.fullmatch(label):
        raise ValueError(f"Jira label {label!r} must be non-empty with no spaces or quotes")
    return label


def _translate(error: JIRAError, action: str, server: str) -> Exception:
    """Map a JIRAError to a transient or permanent tracker error a person can act on."""
    status, detail = error.status_code, (error.text or "").strip()
    where = f"Jira at {server}"
    if status is not None and (status == 429 or status >= 500):
        headers = error.response.headers if error.response is not None else {}
        retry = headers.get("Retry-After")
        return TrackerTransientError(
            f"{where} answered HTTP {status} when trying to {action}; try again later",
            float(retry) if retry and retry.isdigit() else None,
        )
    if status == 401:
        return TrackerPermanentError(
            f"{where} rejected the credentials (HTTP 401) when trying to {action}. "
            + CREDENTIALS_HINT
        )
    if status == 403:
        return TrackerPermanentError(
            f"{where} refused permission to {action} (HTTP 403); grant the account Browse "
            "projects, Create issues, Add comments and Transition issues in the project"
        )
    if status == 404:
        return TrackerPermanentError(
            f"{where} could not find what it needed to {action} (HTTP 404: {detail}); check "
            "THRESHOLD_JIRA__URL and THRESHOLD_JIRA__PROJECT"
        )
    return TrackerPermanentError(
        f"{where} refused to {action} (HTTP {status}: {detail}); check THRESHOLD_JIRA__PROJECT, "
        "THRESHOLD_JIRA__ISSUE_TYPE and that the fields are on the project's create screen"
    )


def _refused_optional(error: JIRAError, fields: dict[str, Any]) -> list[str]:
    """The optional fields a 400 refused (not on the create screen, person not assignable)."""
    if error.status_code != 400 or error.response is None:
        return []
    try:
        errors = error.response.json().get("errors") or {}
    except ValueError:
        return []
    refused = [name for name in OPTIONAL_FIELDS if name in errors and name in fields]
    return refused if refused and set(errors) <= set(refused) else []


class JiraTracker:
    """`ChangeTracker` over Jira's REST API; connects on first use."""

    def __init__(
        self,
        server: str,
        token: str,
        *,
        user: str = "",
        project: str = "GOV",
        issue_type: str = "Task",
        timeout: float = 10.0,
    ) -> None:
        self._server, self._token, self._user = server.rstrip("/"), token, user
        self._project, self._issue_type, self._timeout = project, issue_type, timeout
        self._client: JIRA | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: JiraSettings, *, timeout: float = 10.0) -> JiraTracker:
        """Build a tracker from the `jira` settings section."""
        if not settings.url or settings.api_token is None:
            raise TrackerPermanentError(
                "Jira is not configured: set THRESHOLD_JIRA__URL and THRESHOLD_JIRA__API_TOKEN"
            )
        return cls(
            settings.url,
            settings.api_token.get_secret_value(),
            user=settings.user or "",
            project=settings.project,
            issue_type=settings.issue_type,
            timeout=timeout,
        )

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Translate client failures raised while doing `action`."""
        try:
            yield
        except JIRAError as error:
            raise _translate(error, action, self._server) from error
        except requests.RequestException as error:
            raise TrackerTransientError(
                f"Jira at {self._server} could not be reached to {action} ({type(error).__name__})"
            ) from error

    def _jira(self) -> JIRA:
        """Return the client, connecting first (serverInfo tells Cloud from Data Center)."""
        with self._lock:
            if self._client is None:
                with self._errors("connect"):
                    self._client = JIRA(
                        server=self._server,
                        basic_auth=(self._user, self._token) if self._user else None,
                        token_auth=None if self._user else self._token,
                        timeout=self._timeout,
                        max_retries=0,
                        options={"check_update": False},
                    )
            return self._client

    def close(self) -> None:
        """Close the HTTP session."""
        with self._lock:
            if self._client is not None:
                self._client.close()  # type: ignore[no-untyped-call]  # jira leaves it untyped
                self._client = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def find_by_label(self, label: str) -> str | None:
        """Return the key of the oldest issue in the project carrying `label`, if any."""
        jql = (
            f'project = "{self._project}" AND labels = "{_check_label(label)}" ORDER BY created ASC'
        )
        client = self._jira()
        with self._errors(f"search for issues labelled {label}"):
            found = client.search_issues(jql, maxResults=1, fields=["summary"])
        return str(found[0].key) if found else None

    def ensure_issue(
        self,
        label: str,
        summary: str,
        description: str,
        assignee: str | None = None,
        due: date | None = None,
        labels: Sequence[str] = (),
    ) -> str:
        """Return the issue labelled `label`, creating it when there is none (never a duplicate).

        `assignee` is an accountId on Jira Cloud and a username on Data Center.
        """
        existing = self.find_by_label(label)
        if existing is not None:
            return existing
        client = self._jira()
        if len(summary) > SUMMARY_LIMIT:
            summary = summary[: SUMMARY_LIMIT - 1] + "…"
        fields: dict[str, Any] = {
            "project": {"key": self._project},
            "issuetype": {"name": self._issue_type},
            "summary": summary,
            "description": description,
            "labels": list(dict.fromkeys(_check_label(x) for x in (label, *labels))),
        }
        if assignee:
            cloud = client.deploymentType == "Cloud"
            fields["assignee"] = {"accountId": assignee} if cloud else {"name": assignee}
        if due is not None:
            fields["duedate"] = due.isoformat()
        with self._errors(f"create the issue labelled {label} in project {self._project}"):
            try:
                issue = client.create_issue(fields=fields, prefetch=False)
            except JIRAError as error:
                refused = _refused_optional(error, fields)
                if not refused:
                    raise
                LOG.warning(
                    "Jira refused %s on %s (%s); creating the issue without them",
                    ", ".join(refused),
                    label,
                    error.text,
                )
                kept = {k: v for k, v in fields.items() if k not in refused}
                issue = client.create_issue(fields=kept, prefetch=False)
        return str(issue.key)

    def find_user(self, email: str) -> str | None:
        """The person's accountId (Cloud) or username (Data Center), found by e-mail."""
        client = self._jira()
        cloud = client.deploymentType == "Cloud"
        with self._errors(f"look up the Jira user {email}"):
            found = (
                client.search_users(query=email, maxResults=5)
                if cloud
                else client.search_users(user=email, maxResults=5)
            )
        for user in found:
            if str(getattr(user, "emailAddress", "")).lower() == email.lower():
                return str(user.accountId if cloud else user.name)
        return None

    def add_watcher(self, key: str, email: str) -> None:
        """Make the person with this e-mail a watcher (the client finds them by e-mail)."""
        client = self._jira()
        with self._errors(f"add {email} as a watcher of {key}"):
            client.add_watcher(key, email)

    def comment(self, key: str, body: str) -> None:
        """Add a comment to an issue."""
        client = self._jira()
        with self._errors(f"comment on {key}"):
            client.add_comment(key, body)

    def has_comment(self, key: str, marker: str) -> bool:
        """Whether a comment on the issue contains `marker` (finds what a lost reply posted)."""
        client = self._jira()
        with self._errors(f"read the comments of {key}"):
            found = client.comments(key)
        return any(marker in str(comment.body) for comment in found)

    def browse_url(self, key: str) -> str:
        """Where a person sees the issue."""
        return f"{self._server}/browse/{key}"

    def transition(
        self, key: str, name: str, *, category: str = DONE_CATEGORY, prefer: Sequence[str] = ()
    ) -> TransitionPlan | None:
        """Move an issue to `name`, else into a `category` status, setting a resolution its
        screen asks for; None when it is already there (a retry), `TransitionUnavailable`
        naming the transitions when the workflow has neither.
        """
        client = self._jira()
        with self._errors(f"read the status of {key}"):
            status = client.issue(key, fields="status").fields.status
        current = str(status.name)
        current_category = str(getattr(getattr(status, "statusCategory", None), "key", ""))
        if current.casefold() == name.casefold() or current_category == category:
            return None
        with self._errors(f"list the transitions of {key}"):
            available: list[dict[str, Any]] = client.transitions(key, expand="transitions.fields")
        plan = plan_transition(available, name, category=category, prefer=prefer)
        if plan is None:
            names = [str(t["name"]) for t in available]
            listed = ", ".join(f"'{n}'" for n in names) or "none"
            raise TransitionUnavailable(
                f"Jira issue {key} is in '{current}' and has no transition to '{name}' nor to "
                f"any '{category}' status; available transitions: {listed}. Set "
                "THRESHOLD_JIRA__DONE_TRANSITION / THRESHOLD_JIRA__REJECTED_TRANSITION to one "
                "of them or add a transition to a done status to the project's workflow",
                names,
            )
        fields = {"resolution": {"name": plan.resolution}} if plan.resolution else None
        with self._errors(f"move {key} to '{plan.status}' ({plan.name})"):
            client.transition_issue(key, plan.id, fields=fields)
        return plan
