"""A local Slack Web API that the official slack_sdk clients talk to over real HTTP."""

from __future__ import annotations

import copy
import itertools
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from tests.emulators._http import Fault, FaultPlan, LocalServer, Request, Response
from tests.emulators.slack_payloads import (
    APP_ID,
    TEAM_ID,
    block_actions_payload,
    form_body,
    sign_slack_request,
    view_submission_payload,
)

__all__ = [
    "SlackCall",
    "SlackEmulator",
    "block_actions_payload",
    "form_body",
    "sign_slack_request",
    "view_submission_payload",
]

BOT_USER_ID = "U0BOTUSER"
BOT_ID = "B0EMULATE"
JSON_FIELDS = ("blocks", "attachments", "view", "metadata")
FAULT_ERRORS = {429: "ratelimited", 500: "fatal_error", 503: "service_unavailable"}


@dataclass(frozen=True)
class SlackCall:
    """One Web API call as the emulator received it."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]


class _Refusal(Exception):
    """Ends a method with Slack's `{"ok": false, "error": code}` answer."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail

    def body(self) -> dict[str, Any]:
        """Return the response body Slack sends for this error."""
        body: dict[str, Any] = {"ok": False, "error": self.code}
        if self.detail:
            body["response_metadata"] = {"messages": [f"[ERROR] {self.detail}"]}
        return body


def _params(request: Request) -> dict[str, Any]:
    """Merge query and body arguments the way Slack reads them (form or JSON)."""
    params: dict[str, Any] = {k: v[-1] for k, v in request.query.items()}
    content_type = (request.header("Content-Type") or "").lower()
    if content_type.startswith("application/json"):
        body = request.json()
        if not isinstance(body, dict):
            raise _Refusal("invalid_json")
        params.update(body)
    elif request.body:
        form = parse_qs(request.body.decode(), keep_blank_values=True)
        params.update({k: v[-1] for k, v in form.items()})
    for name in JSON_FIELDS:
        if isinstance(params.get(name), str) and params[name]:
            try:
                params[name] = json.loads(params[name])
            except ValueError as exc:
                raise _Refusal(f"invalid_{name}") from exc
    return params


def _fault_response(fault: Fault) -> Response:
    """Answer a planned failure the way Slack does for that status."""
    body = {"ok": False, "error": FAULT_ERRORS.get(fault.status, "internal_error")}
    headers = {}
    if fault.status == 429 and fault.retry_after is not None:
        headers["Retry-After"] = f"{fault.retry_after:g}"
    return Response(fault.status, body, headers)


class SlackEmulator(LocalServer):
    """Slack Web API methods Threshold uses, with users, channels and messages in memory."""

    def __init__(self, tokens: Iterable[str] = ("xoxb-emulator-token",)) -> None:
        super().__init__()
        self._tokens = list(tokens)
        self.token = self._tokens[0]
        self._lock = threading.RLock()
        self._calls: list[SlackCall] = []
        self._answers: list[tuple[str, str, int]] = []
        self._faults = FaultPlan()
        self._ids = itertools.count(1)
        self._clock = 1_700_000_000_000_000
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, str] = {}
        self._dms: dict[str, str] = {}
        self._messages: dict[str, dict[str, dict[str, Any]]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "users.lookupByEmail": self._users_lookup_by_email,
            "users.info": self._users_info,
            "conversations.open": self._conversations_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "views.open": self._views_open,
        }

    @property
    def base_url(self) -> str:
        """Return the Web API base URL for `WebClient(base_url=...)` (ends with "/")."""
        return f"http://127.0.0.1:{self.port}/api/"

    # Seeding and inspection

    def add_user(
        self, email: str | None, user_id: str | None = None, name: str | None = None
    ) -> str:
        """Add a workspace member (email None: hidden email) and return the user id."""
        uid = user_id or self._new_id("U")
        handle = name or (email.split("@")[0] if email else uid.lower())
        profile: dict[str, Any] = {"real_name": handle.title(), "display_name": handle}
        if email:
            profile["email"] = email
        with self._lock:
            self._users[uid] = {
                "id": uid,
                "team_id": TEAM_ID,
                "name": handle,
                "real_name": handle.title(),
                "deleted": False,
                "is_bot": False,
                "tz": "Europe/London",
                "profile": profile,
            }
        return uid

    def add_channel(self, name: str) -> str:
        """Add a public channel and return its id."""
        cid = self._new_id("C")
        with self._lock:
            self._channels[cid] = name.removeprefix("#")
            self._messages[cid] = {}
        return cid

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: float = 1,
        times: int = 1,
        channel: str | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` with `status` (429 adds Retry-After).

        With `channel` (an id, e.g. a user's DM from `dm_channel`), only calls to that channel
        fail: one recipient is rate-limited while the others are not.
        """
        self._faults.add(f"{method}#{channel}" if channel else method, status, times, retry_after)

    def attempts(self, method: str) -> list[tuple[str, int]]:
        """Every call of `method` in arrival order, as (channel argument, HTTP status answered)."""
        with self._lock:
            return [(c, status) for m, c, status in self._answers if m == method]

    def calls(self, method: str | None = None) -> list[SlackCall]:
        """Return recorded calls, optionally only those of one method."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Return the current version of every message posted in a channel, oldest first."""
        with self._lock:
            return copy.deepcopy(list(self._messages.get(self._resolve(channel), {}).values()))

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        """Return the current version of one message."""
        with self._lock:
            return copy.deepcopy(self._messages[self._resolve(channel)][ts])

    def dm_channel(self, user_id: str) -> str:
        """Return the id of the bot's direct-message channel with a user."""
        with self._lock:
            if user_id not in self._dms:
                cid = self._new_id("D")
                self._dms[user_id] = cid
                self._channels[cid] = user_id
                self._messages[cid] = {}
            return self._dms[user_id]

    # HTTP

    def handle(self, request: Request) -> Response:
        """Authenticate, apply planned faults, and run one Web API method."""
        method = request.path.removeprefix("/api/")
        try:
            params = _params(request)
        except _Refusal as refusal:
            return Response(200, refusal.body())
        with self._lock:
            self._calls.append(SlackCall(method, params, dict(request.headers)))
        response = self._answer(request, method, params)
        with self._lock:
            self._answers.append((method, str(params.get("channel", "")), response.status))
        return response

    def _answer(self, request: Request, method: str, params: dict[str, Any]) -> Response:
        """Apply planned faults (for the method, or the method on one channel), then run it."""
        fault = self._faults.take(method) or self._faults.take(f"{method}#{params.get('channel')}")
        if fault:
            return _fault_response(fault)
        run = self._methods.get(method)
        if run is None or not request.path.startswith("/api/"):
            return Response(404, {"ok": False, "error": "unknown_method", "req_method": method})
        try:
            self._authenticate(request, params)
            with self._lock:
                return Response(200, {"ok": True, **run(params)})
        except _Refusal as refusal:
            return Response(200, refusal.body())

    def _authenticate(self, request: Request, params: dict[str, Any]) -> None:
        """Accept a known token from the Bearer header or the `token` argument."""
        auth = request.header("Authorization") or ""
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        token = token or params.get("token")
        if not token:
            raise _Refusal("not_authed")
        if token not in self._tokens:
            raise _Refusal("invalid_auth")

    # Helpers

    def _new_id(self, prefix: str) -> str:
        """Return a fresh Slack-style id such as U00000001."""
        return f"{prefix}{next(self._ids):08d}"

    def _next_ts(self) -> str:
        """Return a unique, increasing message timestamp like 1700000000.000100."""
        with self._lock:
            self._clock += 100
            return f"{self._clock // 1_000_000}.{self._clock % 1_000_000:06d}"

    def _resolve(self, channel: str | None) -> str:
        """Map a channel id, #name or user id (its DM) to a channel id."""
        if not channel:
            raise _Refusal("channel_not_found")
        if channel in self._channels:
            return channel
        if channel in self._users:
            return self.dm_channel(channel)
        named = [cid for cid, name in self._channels.items() if name == channel.lstrip("#")]
        if not named:
            raise _Refusal("channel_not_found")
        return named[0]

    def _user(self, user_id: str | None, error: str = "user_not_found") -> dict[str, Any]:
        """Return a known user or refuse with `error`."""
        if not user_id or user_id not in self._users:
            raise _Refusal(error)
        return self._users[user_id]

    @staticmethod
    def _require(params: dict[str, Any], name: str) -> Any:
        """Return a required argument or refuse like Slack does."""
        if not params.get(name):
            raise _Refusal("invalid_arguments", f"missing required field: {name}")
        return params[name]

    # Methods

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://emulated.slack.com/",
            "team": "Emulated",
            "user": "threshold",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _users_lookup_by_email(self, params: dict[str, Any]) -> dict[str, Any]:
        email = str(self._require(params, "email")).lower()
        for user in self._users.values():
            if str(user["profile"].get("email", "")).lower() == email:
                return {"user": copy.deepcopy(user)}
        raise _Refusal("users_not_found")

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"user": copy.deepcopy(self._user(params.get("user")))}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("channel"):
            return {"channel": {"id": self._resolve(params["channel"])}}
        users = [u.strip() for u in str(self._require(params, "users")).split(",")]
        if len(users) != 1:
            raise _Refusal("not_supported_by_emulator", "only one-to-one DMs are emulated")
        self._user(users[0])
        already = users[0] in self._dms
        channel = self.dm_channel(users[0])
        return {"no_op": already, "already_open": already, "channel": {"id": channel}}

    def _message(self, params: dict[str, Any], ts: str) -> dict[str, Any]:
        """Build a message object as Slack returns it."""
        if not (params.get("text") or params.get("blocks") or params.get("attachments")):
            raise _Refusal("no_text")
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": params.get("text", ""),
            "ts": ts,
        }
        for name in ("blocks", "attachments", "thread_ts", "metadata"):
            if params.get(name):
                message[name] = params[name]
        return message

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(params.get("channel"))
        ts = self._next_ts()
        message = self._message(params, ts)
        self._messages[channel][ts] = message
        return {"channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(params.get("channel"))
        ts = str(params.get("ts", ""))
        if ts not in self._messages[channel]:
            raise _Refusal("message_not_found")
        message = self._message(params, ts)
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        self._messages[channel][ts] = message
        return {"channel": channel, "ts": ts, "text": message["text"], "message": message}

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(params.get("channel"))
        user = self._user(params.get("user"))["id"]
        ts = self._next_ts()
        message = self._message(params, ts)
        self.ephemerals.append({"channel": channel, "user": user, "message": message})
        return {"message_ts": ts}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require(params, "trigger_id")
        view = self._require(params, "view")
        if not isinstance(view, dict):
            raise _Refusal("invalid_arguments", "view must be a JSON object")
        opened = {
            "id": self._new_id("V"),
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "state": {"values": {}},
            "hash": f"{self._next_ts()}.emulated",
            "private_metadata": "",
            "callback_id": "",
            **view,
        }
        self.views.append({"trigger_id": params["trigger_id"], "view": opened})
        return {"view": copy.deepcopy(opened)}
