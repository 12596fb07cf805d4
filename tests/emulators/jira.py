"""A local Jira REST API that the official `jira` client uses over real HTTP.

Cloud (basic auth with e-mail + API token) and Data Center (bearer personal access token)
credentials are both accepted. `deployment` decides what serverInfo reports and therefore
which search endpoint the client calls: Cloud answers `search/jql` and refuses the removed
`search` with 410; Server/Data Center answers `search` and has no `search/jql`.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from tests.emulators._http import FaultPlan, LocalServer, Request, Response
from tests.emulators.jira_render import Renderer
from tests.emulators.jira_store import FieldErrors, Issue, JiraStore, JqlError
from tests.emulators.jira_workflows import WORKFLOWS

__all__ = ["JiraCall", "JiraEmulator"]

SEARCH_REMOVED = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
Handler = Callable[[Request, re.Match[str], str], Response]


@dataclass(frozen=True)
class JiraCall:
    """One REST call as the emulator received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]


class _Unauthorized(Exception):
    """The request carried credentials Jira does not accept."""


def _error(status: int, *messages: str, errors: dict[str, str] | None = None) -> Response:
    """Answer with Jira's error envelope."""
    return Response(status, {"errorMessages": list(messages), "errors": errors or {}})


def _search_args(request: Request) -> dict[str, Any]:
    """Read search arguments from the query string (GET) or the JSON body (POST)."""
    if request.method == "POST":
        body = request.json()
        return body if isinstance(body, dict) else {}
    args: dict[str, Any] = {k: v[-1] for k, v in request.query.items()}
    args["fields"] = [f for v in request.query.get("fields", []) for f in v.split(",")]
    return args


class JiraEmulator(LocalServer):
    """Jira projects, issues, comments, people and one workflow (`jira_workflows.WORKFLOWS`).

    `workflow="simplified"` (To Do / In Progress / Done / Won't Do) is the default;
    `"classic"` is Data Center's Open / Resolved / Closed with resolution screens;
    `"review-only"` never reaches a done status. `create_screen` names the fields the
    project's create screen has (default: every field the emulator knows).
    """

    def __init__(
        self,
        *,
        deployment: Literal["Cloud", "Server"] = "Cloud",
        user: str = "threshold@example.com",
        api_token: str = "emulator-api-token",
        pat: str = "emulator-personal-access-token",
        pat_user: str = "threshold-bot",
        projects: Iterable[str] = ("GOV",),
        workflow: str = "simplified",
        create_screen: Iterable[str] | None = None,
    ) -> None:
        super().__init__()
        self.deployment = deployment
        self.user, self.api_token, self.pat, self.pat_user = user, api_token, pat, pat_user
        screen = None if create_screen is None else set(create_screen)
        self.store = JiraStore(WORKFLOWS[workflow], screen)
        self.people: dict[str, str] = {}
        for key in projects:
            self.store.add_project(key, "Governance" if key == "GOV" else key.title())
        self._lock = threading.RLock()
        self._calls: list[JiraCall] = []
        self._faults = FaultPlan()
        self._lost = FaultPlan()
        self._routes: list[tuple[str, str, Handler]] = [
            ("GET", "serverInfo", self._server_info),
            ("GET", "myself", self._myself),
            ("GET", "user/search", self._user_search),
            ("GET", "field", self._fields),
            ("GET", "issuetype", self._issue_types),
            ("GET", "project/(?P<ref>[^/]+)", self._project),
            ("POST", "issue", self._create_issue),
            ("GET", "issue/(?P<ref>[^/]+)", self._get_issue),
            ("GET", "issue/(?P<ref>[^/]+)/comment", self._comments),
            ("POST", "issue/(?P<ref>[^/]+)/comment", self._add_comment),
            ("GET", "issue/(?P<ref>[^/]+)/watchers", self._watchers),
            ("POST", "issue/(?P<ref>[^/]+)/watchers", self._add_watcher),
            ("GET", "issue/(?P<ref>[^/]+)/transitions", self._transitions),
            ("POST", "issue/(?P<ref>[^/]+)/transitions", self._transition),
            ("GET|POST", "search", self._search),
            ("GET|POST", "search/jql", self._search_jql),
        ]

    @property
    def url(self) -> str:
        """Return the server URL for `jira.JIRA(server=...)`."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def cloud(self) -> bool:
        """Return whether the emulator presents itself as Jira Cloud."""
        return self.deployment == "Cloud"

    def fail_next(
        self, path_prefix: str, status: int = 503, times: int = 1, retry_after: float | None = None
    ) -> None:
        """Answer the next `times` requests whose path starts with `path_prefix` with `status`."""
        self._faults.add(path_prefix, status, times, retry_after)

    def lose_next_response(
        self, method: str, path_prefix: str, status: int = 504, times: int = 1
    ) -> None:
        """Apply the next `times` matching requests, then answer `status` as if the reply was lost."""
        self._lost.add(f"{method} {path_prefix}", status, times, None)

    def calls(self, path_prefix: str = "", method: str | None = None) -> list[JiraCall]:
        """Return recorded calls, optionally filtered by path prefix and HTTP method."""
        with self._lock:
            return [
                c
                for c in self._calls
                if c.path.startswith(path_prefix) and method in (None, c.method)
            ]

    def issue(self, key: str) -> Issue:
        """Return the stored issue with this key (for assertions)."""
        with self._lock:
            found = self.store.issue(key)
            if found is None:
                raise KeyError(key)
            return found

    # HTTP

    def handle(self, request: Request) -> Response:
        """Record, apply planned faults, authenticate, and route one REST call."""
        with self._lock:
            body, headers = request.json(), dict(request.headers)
            self._calls.append(JiraCall(request.method, request.path, request.query, body, headers))
        if fault := self._faults.take(request.path, prefix=True):
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            return Response(
                fault.status, {"errorMessages": ["Service Unavailable"], "errors": {}}, headers
            )
        api = re.fullmatch(r"/rest/api/[23]/(?P<rest>.+)", request.path)
        if api is None:
            return Response(404, {"message": f"null for uri: {request.path}", "status-code": 404})
        try:
            account = self._authenticate(request)
        except _Unauthorized:
            return self._unauthorized()
        if account is None and api["rest"] != "serverInfo":
            return self._unauthorized()
        response = self._route(request, api["rest"], account or "")
        if response.status < 400 and (
            lost := self._lost.take(f"{request.method} {request.path}", prefix=True)
        ):
            return Response(lost.status, {"errorMessages": ["Gateway Timeout"], "errors": {}})
        return response

    def _route(self, request: Request, rest: str, account: str) -> Response:
        """Run the handler whose method and path pattern match."""
        for methods, pattern, run in self._routes:
            match = re.fullmatch(pattern, rest)
            if match and request.method in methods.split("|"):
                with self._lock:
                    return run(request, match, account)
        return Response(404, {"message": f"null for uri: {request.path}", "status-code": 404})

    def _authenticate(self, request: Request) -> str | None:
        """Return the account the credentials belong to, None when there are none."""
        auth = request.header("Authorization")
        if not auth:
            return None
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value == self.pat:
            return self.pat_user
        if scheme.lower() == "basic":
            try:
                user, _, secret = base64.b64decode(value).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise _Unauthorized from exc
            if (user, secret) == (self.user, self.api_token):
                return user
        raise _Unauthorized

    def _unauthorized(self) -> Response:
        """Answer like Jira does to missing or wrong credentials."""
        response = _error(401, "You are not authenticated. Authentication required.")
        response.headers.update(
            {
                "WWW-Authenticate": 'Basic realm="protected-area"',
                "X-Seraph-LoginReason": "AUTHENTICATED_FAILED",
            }
        )
        return response

    @property
    def _render(self) -> Renderer:
        """Return a renderer bound to this server's URL and deployment."""
        return Renderer(self.url, self.cloud, self.store.workflow)

    # Endpoints

    def _server_info(self, request: Request, match: re.Match[str], account: str) -> Response:
        return Response(200, self._render.server_info())

    def _myself(self, request: Request, match: re.Match[str], account: str) -> Response:
        return Response(200, self._render.user(account))

    def add_person(self, email: str) -> str:
        """Add a Jira user with this e-mail; returns their accountId (Cloud) or username."""
        ident = f"acc-{len(self.people) + 1}" if self.cloud else email.split("@")[0]
        self.people[email.lower()] = ident
        return ident

    def _user_search(self, request: Request, match: re.Match[str], account: str) -> Response:
        wanted = (request.query.get("query") or request.query.get("username") or [""])[-1]
        found = [
            {**self._render.user(ident), "emailAddress": email}
            for email, ident in self.people.items()
            if wanted.lower() in email
        ]
        return Response(200, found)

    def _fields(self, request: Request, match: re.Match[str], account: str) -> Response:
        return Response(200, self._render.fields())

    def _issue_types(self, request: Request, match: re.Match[str], account: str) -> Response:
        return Response(200, self._render.issue_types())

    def _project(self, request: Request, match: re.Match[str], account: str) -> Response:
        project = self.store.project(match["ref"])
        if project is None:
            return _error(404, f"No project could be found with key '{match['ref']}'.")
        return Response(200, self._render.project(project, self.user))

    def _create_issue(self, request: Request, match: re.Match[str], account: str) -> Response:
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
            return _error(400, "Can not deserialize instance of the request: expected 'fields'.")
        assignee = body["fields"].get("assignee")
        ident = (
            assignee.get("accountId" if self.cloud else "name")
            if isinstance(assignee, dict)
            else None
        )
        if ident and ident not in self.people.values():
            return _error(400, errors={"assignee": f"User '{ident}' does not exist."})
        try:
            issue = self.store.create(body["fields"], account, self.cloud)
        except FieldErrors as refused:
            return _error(400, errors=refused.errors)
        return Response(
            201, {"id": issue.id, "key": issue.key, "self": self._render.issue_url(issue)}
        )

    def _found(self, ref: str) -> Issue | Response:
        """Return the issue or Jira's 404 answer."""
        issue = self.store.issue(ref)
        if issue is None:
            return _error(404, "Issue does not exist or you do not have permission to see it.")
        return issue

    def _get_issue(self, request: Request, match: re.Match[str], account: str) -> Response:
        issue = self._found(match["ref"])
        if isinstance(issue, Response):
            return issue
        fields = [f for v in request.query.get("fields", []) for f in v.split(",")]
        return Response(200, self._render.issue(issue, fields or None))

    def _comments(self, request: Request, match: re.Match[str], account: str) -> Response:
        issue = self._found(match["ref"])
        if isinstance(issue, Response):
            return issue
        return Response(200, self._render.comments(issue))

    def _add_comment(self, request: Request, match: re.Match[str], account: str) -> Response:
        issue = self._found(match["ref"])
        if isinstance(issue, Response):
            return issue
        body = request.json() or {}
        if not isinstance(body, dict) or not str(body.get("body") or "").strip():
            return _error(400, errors={"comment": "Comment body can not be empty!"})
        comment = self.store.add_comment(issue, str(body["body"]), account)
        return Response(201, self._render.comment(issue, comment))

    def _watchers(self, request: Request, match: re.Match[str], account: str) -> Response:
        issue = self._found(match["ref"])
        if isinstance(issue, Response):
            return issue
        watchers = [self._render.user(ident) for ident in issue.watchers]
        return Response(200, {"watchCount": len(watchers), "watchers": watchers})

    def _add_watcher(self, request: Request, match: re.Match[str], account: str) -> Response:
        """Body: the accountId (Cloud) or username (Data Center) as a JSON string."""
        issue = self._found(match["ref"])
        if isinstance(issue, Response):
            return issue
        ident = request.json()
        if not isinstance(ident, str) or ident not in self.people.values():
            return _error(404, f"The user '{ident}' does not exist.")
        with self._lock:
            if ident not in issue.watchers:
                issue.watchers.append(ident)
        return Response(204)

    def _transitions(self, request: Request, match: re.Match[str], account: str) -> Response:
        issue = self._found(match["ref"])
        if isinstance(issue, Response):
            return issue
        expand = ",".join(request.query.get("expand", []))
        steps = self.store.workflow.available(issue.status)
        wanted = request.query.get("transitionId")
        if wanted:
            steps = tuple(s for s in steps if s.id == wanted[-1])
        return Response(200, self._render.transitions(steps, "transitions.fields" in expand))

    def _transition(self, request: Request, match: re.Match[str], account: str) -> Response:
        issue = self._found(match["ref"])
        if isinstance(issue, Response):
            return issue
        body = request.json() or {}
        wanted = str((body.get("transition") or {}).get("id", ""))
        fields = body.get("fields") or {}
        try:
            moved = self.store.transition(issue, wanted, fields)
        except FieldErrors as refused:
            return _error(400, errors=refused.errors)
        if not moved:
            return _error(400, f"Transition id '{wanted}' is not valid for this issue.")
        for change in (body.get("update") or {}).get("comment", []):
            self.store.add_comment(issue, str(change["add"]["body"]), account)
        return Response(204)

    def _matching(self, args: dict[str, Any]) -> list[Issue] | Response:
        """Run the JQL of a search request, or answer Jira's 400."""
        try:
            return self.store.search(str(args.get("jql") or ""))
        except JqlError as bad:
            return _error(400, str(bad))

    def _search(self, request: Request, match: re.Match[str], account: str) -> Response:
        if self.cloud:
            return _error(410, SEARCH_REMOVED)
        args = _search_args(request)
        found = self._matching(args)
        if isinstance(found, Response):
            return found
        start, size = int(args.get("startAt") or 0), int(args.get("maxResults") or 50)
        page = [self._render.issue(i, args.get("fields") or ["*navigable"]) for i in found]
        return Response(
            200,
            {
                "expand": "schema,names",
                "startAt": start,
                "maxResults": size,
                "total": len(found),
                "issues": page[start : start + size],
            },
        )

    def _search_jql(self, request: Request, match: re.Match[str], account: str) -> Response:
        if not self.cloud:
            return Response(404, {"message": f"null for uri: {request.path}", "status-code": 404})
        args = _search_args(request)
        found = self._matching(args)
        if isinstance(found, Response):
            return found
        start, size = int(args.get("nextPageToken") or 0), int(args.get("maxResults") or 50)
        fields = args.get("fields") or []
        page = [
            self._render.issue(i, fields) if fields else {"id": i.id}
            for i in found[start : start + size]
        ]
        body: dict[str, Any] = {"issues": page, "isLast": start + size >= len(found)}
        if not body["isLast"]:
            body["nextPageToken"] = str(start + size)
        return Response(200, body)
