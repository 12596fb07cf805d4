"""Slack calls for approvals, through the official `slack_sdk.WebClient`.

Errors: `SlackRateLimited` (HTTP 429, `retry_after` seconds from Slack's Retry-After) and
`SlackTransientError` (5xx, timeouts, connection failures) may succeed later;
`SlackPermanentError` (`code` is Slack's error, e.g. `invalid_auth`, `channel_not_found`,
`users_not_found`) will not until someone fixes configuration or data. The client has no
retry handlers: Temporal retries the activity.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from integrations.errors import PermanentIntegrationError, TransientIntegrationError

if TYPE_CHECKING:
    from core.settings import SlackSettings

Blocks = Sequence[Mapping[str, Any]]
TRANSIENT_CODES = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
HINTS = {
    "not_authed": "no bot token was sent; set THRESHOLD_SLACK__BOT_TOKEN",
    "invalid_auth": "Slack rejected the bot token; set THRESHOLD_SLACK__BOT_TOKEN to the "
    "app's current xoxb- token",
    "token_revoked": "the bot token was revoked; reinstall the Slack app and update "
    "THRESHOLD_SLACK__BOT_TOKEN",
    "channel_not_found": "the channel does not exist or the app is not a member; invite the "
    "app or fix THRESHOLD_SLACK__APPROVALS_CHANNEL",
    "users_not_found": "no Slack member has this e-mail address; check the approver's e-mail "
    "in the system manifest",
    "missing_scope": "the Slack app lacks an OAuth scope this call needs; add it and reinstall",
}


class SlackTransientError(TransientIntegrationError):
    """Slack failed in a way that may pass (5xx, timeout, connection refused)."""


class SlackRateLimited(SlackTransientError):
    """Slack answered 429; wait `retry_after` seconds before calling again."""

    def __init__(self, retry_after: float, method: str = "") -> None:
        super().__init__(f"Slack rate-limited {method}; retry in {retry_after:g}s", retry_after)


class SlackPermanentError(PermanentIntegrationError):
    """Slack refused the call; `code` is Slack's error code."""

    def __init__(self, code: str, method: str = "") -> None:
        hint = HINTS.get(code, "see https://api.slack.com/methods for this error")
        super().__init__(f"Slack refused {method or 'the call'} with '{code}': {hint}")
        self.code = code


def _retry_after(headers: Mapping[str, Any]) -> float:
    """Read Retry-After (seconds) case-insensitively; Slack always sends it with 429."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return float(value) if value is not None else 1.0
    except ValueError:
        return 1.0


def _translate(method: str, error: SlackApiError) -> Exception:
    """Map a Slack API failure to a transient or permanent integration error."""
    response = error.response
    status = int(response.status_code)
    code = str(response.get("error") or f"http_{status}")
    if status == 429 or code == "ratelimited":
        return SlackRateLimited(_retry_after(response.headers), method)
    if status >= 500 or code in TRANSIENT_CODES:
        return SlackTransientError(f"Slack {method} failed with HTTP {status} ({code})")
    return SlackPermanentError(code, method)


class ApprovalMessenger(Protocol):
    """What approval activities need from a chat system."""

    def lookup_user_id(self, email: str) -> str:
        """Return the chat user id of the person with this e-mail."""
        ...

    def user_email(self, user_id: str) -> str | None:
        """Return the e-mail of a chat user, None when it is unknown or hidden."""
        ...

    def open_dm(self, user_id: str) -> str:
        """Open (or reuse) a direct conversation with a user and return its channel."""
        ...

    def post(self, channel: str, text: str, blocks: Blocks) -> tuple[str, str]:
        """Post a message and return (channel id, message ts)."""
        ...

    def update(self, channel: str, ts: str, text: str, blocks: Blocks) -> None:
        """Replace a posted message in place."""
        ...

    def post_ephemeral(self, channel: str, user: str, text: str) -> None:
        """Show a message to one user only."""
        ...

    def open_view(self, trigger_id: str, view: Mapping[str, Any]) -> str:
        """Open a modal for an interaction and return the view id."""
        ...


class SlackMessenger:
    """`ApprovalMessenger` over Slack's Web API, caching e-mail <-> user id lookups."""

    def __init__(
        self, token: str, *, base_url: str = "https://slack.com/api/", timeout: int = 10
    ) -> None:
        self._client = WebClient(
            token=token,
            base_url=base_url if base_url.endswith("/") else f"{base_url}/",
            timeout=timeout,
            retry_handlers=[],
        )
        self._lock = threading.Lock()
        self._user_ids: dict[str, str] = {}
        self._emails: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: SlackSettings, *, timeout: int = 10) -> SlackMessenger:
        """Build a messenger from the `slack` settings section."""
        if settings.bot_token is None:
            raise SlackPermanentError("not_authed", "Slack configuration")
        return cls(
            settings.bot_token.get_secret_value(), base_url=settings.api_url, timeout=timeout
        )

    def _call(self, method: str, call: Callable[..., SlackResponse], **args: Any) -> SlackResponse:
        """Run one Web API call, translating failures into integration errors."""
        try:
            return call(**args)
        except SlackApiError as error:
            raise _translate(method, error) from error
        except (OSError, http.client.HTTPException) as error:
            raise SlackTransientError(f"Slack {method} could not be reached: {error}") from error

    def lookup_user_id(self, email: str) -> str:
        """Return the Slack user id for an e-mail (users.lookupByEmail, cached)."""
        key = email.strip().casefold()
        with self._lock:
            if key in self._user_ids:
                return self._user_ids[key]
        response = self._call(
            "users.lookupByEmail", self._client.users_lookupByEmail, email=email.strip()
        )
        user_id = str(response["user"]["id"])
        with self._lock:
            self._user_ids[key] = user_id
            self._emails.setdefault(user_id, email.strip())
        return user_id

    def user_email(self, user_id: str) -> str | None:
        """Return a user's e-mail (users.info, cached); None if unknown or hidden."""
        with self._lock:
            if user_id in self._emails:
                return self._emails[user_id]
        try:
            response = self._call("users.info", self._client.users_info, user=user_id)
        except SlackPermanentError as error:
            if error.code == "user_not_found":
                return None
            raise
        email = response["user"].get("profile", {}).get("email")
        if not email:
            return None
        with self._lock:
            self._emails[user_id] = str(email)
            self._user_ids.setdefault(str(email).casefold(), user_id)
        return str(email)

    def open_dm(self, user_id: str) -> str:
        """Open the bot's direct conversation with a user and return its channel id."""
        response = self._call("conversations.open", self._client.conversations_open, users=user_id)
        return str(response["channel"]["id"])

    def post(self, channel: str, text: str, blocks: Blocks) -> tuple[str, str]:
        """Post a Block Kit message (text is the notification fallback); return (channel, ts)."""
        response = self._call(
            "chat.postMessage",
            self._client.chat_postMessage,
            channel=channel,
            text=text,
            blocks=[dict(block) for block in blocks],
        )
        return str(response["channel"]), str(response["ts"])

    def update(self, channel: str, ts: str, text: str, blocks: Blocks) -> None:
        """Replace the text and blocks of a posted message."""
        self._call(
            "chat.update",
            self._client.chat_update,
            channel=channel,
            ts=ts,
            text=text,
            blocks=[dict(block) for block in blocks],
        )

    def post_ephemeral(self, channel: str, user: str, text: str) -> None:
        """Show a message in a channel to one user only."""
        self._call(
            "chat.postEphemeral",
            self._client.chat_postEphemeral,
            channel=channel,
            user=user,
            text=text,
        )

    def open_view(self, trigger_id: str, view: Mapping[str, Any]) -> str:
        """Open a modal in answer to an interaction and return the view id."""
        response = self._call(
            "views.open", self._client.views_open, trigger_id=trigger_id, view=dict(view)
        )
        return str(response["view"]["id"])
