"""The in-memory Jira the emulator serves: projects, issues, comments, a workflow, JQL."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from tests.emulators.jira_workflows import RESOLUTIONS, SIMPLIFIED, Workflow

ISSUE_TYPES = {"10001": "Task", "10002": "Bug", "10003": "Story"}


class JqlError(ValueError):
    """The JQL could not be parsed or names something that does not exist."""


def jira_timestamp(moment: datetime | None = None) -> str:
    """Format a time the way Jira's REST API does (2024-01-31T12:00:00.000+0000)."""
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


@dataclass
class Project:
    """A Jira project."""

    id: str
    key: str
    name: str
    next_number: int = 1


@dataclass
class Comment:
    """A comment on an issue."""

    id: str
    body: str
    author: str
    created: str


@dataclass
class Issue:
    """An issue with the fields the emulator understands."""

    id: str
    key: str
    project: Project
    issue_type: str
    summary: str
    description: str | None
    labels: list[str]
    assignee: dict[str, str] | None
    duedate: str | None
    reporter: str
    created: str
    status: str = "To Do"
    resolution: str | None = None
    comments: list[Comment] = field(default_factory=list)
    watchers: list[str] = field(default_factory=list)
    updated: str = field(default_factory=jira_timestamp)


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[(),]|!=|=|~|[^\s"\'(),=!~]+')


def _unquote(token: str) -> str:
    """Strip JQL quotes and escapes from a value token."""
    if token[:1] in "\"'" and token[-1:] == token[:1]:
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return token


def _read_values(tokens: list[str]) -> list[str]:
    """Read a single value or a parenthesised list from the front of `tokens`."""
    if tokens[:1] != ["("]:
        if not tokens:
            raise JqlError("Error in the JQL Query: Expecting a value.")
        return [_unquote(tokens.pop(0))]
    tokens.pop(0)
    values = []
    while tokens and tokens[0] != ")":
        token = tokens.pop(0)
        if token != ",":
            values.append(_unquote(token))
    if not tokens:
        raise JqlError("Error in the JQL Query: Expecting ')'.")
    tokens.pop(0)
    return values


def parse_jql(jql: str) -> tuple[list[tuple[str, str, list[str]]], tuple[str, bool]]:
    """Parse `a = x AND b in (y, z) [ORDER BY f ASC|DESC]` into clauses and an ordering."""
    order_by = re.search(r"\border\s+by\b", jql, flags=re.I)
    body = jql[: order_by.start()] if order_by else jql
    order = (jql[order_by.end() :].split() if order_by else []) or ["created"]
    ordering = (order[0].lower(), len(order) > 1 and order[1].upper() == "DESC")
    tokens, clauses = _TOKEN.findall(body), []
    while tokens:
        name = tokens.pop(0).lower()
        op = tokens.pop(0).lower() if tokens else ""
        if op == "not" and tokens[:1] and tokens[0].lower() == "in":
            op = "not " + tokens.pop(0).lower()
        if op not in ("=", "!=", "~", "in", "not in"):
            raise JqlError(f"Error in the JQL Query: unsupported operator '{op}' after '{name}'.")
        clauses.append((name, op, _read_values(tokens)))
        if tokens and tokens.pop(0).lower() != "and":
            raise JqlError("Error in the JQL Query: the emulator supports AND only.")
    return clauses, ordering


class FieldErrors(ValueError):
    """Jira refused the fields of a create request (field name -> message)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


SETTABLE = {"project", "issuetype", "summary", "description", "labels", "assignee", "duedate"}


def _label_errors(labels: Any) -> dict[str, str]:
    """Check labels the way Jira does: a list of non-empty strings without spaces."""
    if not isinstance(labels, list):
        return {"labels": "data was not an array"}
    for label in labels:
        if not isinstance(label, str) or not label or re.search(r"\s", label):
            return {"labels": f"The label '{label}' contains spaces which is invalid."}
    return {}


def _date_and_assignee_errors(fields: dict[str, Any], cloud: bool) -> dict[str, str]:
    """Check the due date (YYYY-MM-DD) and the assignee reference for this deployment."""
    errors: dict[str, str] = {}
    if fields.get("duedate") is not None:
        try:
            date.fromisoformat(str(fields["duedate"]))
        except ValueError:
            errors["duedate"] = f"Error parsing date string: {fields['duedate']}"
    assignee, wanted = fields.get("assignee"), "accountId" if cloud else "name"
    if assignee is not None and not (isinstance(assignee, dict) and assignee.get(wanted)):
        errors["assignee"] = f"Specify a valid value for assignee (an object with '{wanted}')"
    return errors


class JiraStore:
    """Projects and issues, with Jira's validation, workflow and a JQL subset."""

    def __init__(self, workflow: Workflow = SIMPLIFIED, screen: set[str] | None = None) -> None:
        self.workflow = workflow
        self.screen = SETTABLE if screen is None else screen
        self.projects: dict[str, Project] = {}
        self.issues: dict[str, Issue] = {}
        self._next_id = 10000

    def new_id(self) -> str:
        """Return a fresh numeric id as Jira renders them (a string)."""
        self._next_id += 1
        return str(self._next_id)

    def add_project(self, key: str, name: str) -> Project:
        """Create a project."""
        project = Project(self.new_id(), key, name)
        self.projects[key] = project
        return project

    def project(self, ref: str | None) -> Project | None:
        """Find a project by key or id."""
        return next((p for p in self.projects.values() if ref in (p.key, p.id)), None)

    def issue(self, ref: str) -> Issue | None:
        """Find an issue by key or id."""
        return next((i for i in self.issues.values() if ref in (i.key, i.id)), None)

    def create(self, fields: dict[str, Any], reporter: str, cloud: bool) -> Issue:
        """Validate the fields of a create request and store the new issue."""
        project_ref, type_ref = fields.get("project") or {}, fields.get("issuetype") or {}
        project = self.project(project_ref.get("key") or project_ref.get("id"))
        issue_type = ISSUE_TYPES.get(type_ref.get("id", "")) or type_ref.get("name")
        errors = {
            n: f"Field '{n}' cannot be set. It is not on the appropriate screen, or unknown."
            for n in set(fields) - self.screen
        }
        if project is None:
            errors["project"] = "Specify a valid project ID or key"
        if issue_type not in ISSUE_TYPES.values():
            errors["issuetype"] = "Specify a valid issue type"
        if not str(fields.get("summary") or "").strip():
            errors["summary"] = "You must specify a summary of the issue."
        errors |= _label_errors(fields.get("labels") or [])
        errors |= _date_and_assignee_errors(fields, cloud)
        if errors or project is None:
            raise FieldErrors(errors)
        issue = Issue(
            id=self.new_id(),
            key=f"{project.key}-{project.next_number}",
            project=project,
            issue_type=str(issue_type),
            summary=str(fields["summary"]),
            description=fields.get("description"),
            labels=list(fields.get("labels") or []),
            assignee=fields.get("assignee"),
            duedate=fields.get("duedate"),
            reporter=reporter,
            created=jira_timestamp(),
            status=self.workflow.initial,
        )
        project.next_number += 1
        self.issues[issue.key] = issue
        return issue

    def add_comment(self, issue: Issue, body: str, author: str) -> Comment:
        """Append a comment to an issue."""
        comment = Comment(self.new_id(), body, author, jira_timestamp())
        issue.comments.append(comment)
        issue.updated = comment.created
        return comment

    def transition(self, issue: Issue, transition_id: str, fields: dict[str, Any]) -> bool:
        """Move an issue along an available transition; False when none has this id.

        A transition with a resolution screen needs one of its resolutions in `fields`; one
        without a screen sets the resolution to the target's name when it is a done status
        (the post function of Jira's simplified workflow) and refuses any field.
        """
        step = self.workflow.find(issue.status, transition_id)
        if step is None:
            return False
        extra = set(fields) - ({"resolution"} if step.resolutions else set())
        if extra:
            raise FieldErrors(
                {
                    n: f"Field '{n}' cannot be set. It is not on the appropriate screen, or unknown."
                    for n in sorted(extra)
                }
            )
        resolution = None
        if step.resolutions:
            resolution = str((fields.get("resolution") or {}).get("name") or "")
            if resolution not in step.resolutions:
                raise FieldErrors(
                    {
                        "resolution": "Resolution is required."
                        if not resolution
                        else f"The resolution '{resolution}' is not valid here."
                    }
                )
        elif self.workflow.category(step.to) == "done" and step.to in RESOLUTIONS:
            resolution = step.to
        issue.status = step.to
        issue.resolution = resolution if self.workflow.category(step.to) == "done" else None
        issue.updated = jira_timestamp()
        return True

    def search(self, jql: str) -> list[Issue]:
        """Return the issues matching a JQL query, in the order it asks for."""
        clauses, (_, descending) = parse_jql(jql)
        self._check(clauses)
        found = [i for i in self.issues.values() if all(_matches(i, c) for c in clauses)]
        return sorted(found, key=lambda i: int(i.id), reverse=descending)

    def _check(self, clauses: list[tuple[str, str, list[str]]]) -> None:
        """Refuse unknown fields and unknown projects, as Jira does."""
        for name, op, values in clauses:
            if name not in JQL_FIELDS:
                raise JqlError(
                    f"Field '{name}' does not exist or you do not have permission to view it."
                )
            names = {p.name.casefold() for p in self.projects.values()}
            for value in values if name == "project" and op in ("=", "in") else []:
                if self.project(value) is None and value.casefold() not in names:
                    raise JqlError(f"The value '{value}' does not exist for the field 'project'.")


JQL_FIELDS = {"project", "labels", "status", "issuetype", "type", "summary", "text", "assignee"}
JQL_FIELDS |= {"resolution", "key", "issuekey", "id", "issue"}


def _values(issue: Issue, name: str) -> list[str]:
    """Return the values a JQL field has on an issue."""
    by_field: dict[str, list[str]] = {
        "project": [issue.project.key, issue.project.id, issue.project.name],
        "labels": issue.labels,
        "status": [issue.status],
        "issuetype": [issue.issue_type],
        "type": [issue.issue_type],
        "summary": [issue.summary],
        "text": [issue.summary, issue.description or ""],
        "assignee": list((issue.assignee or {}).values()),
        "resolution": [issue.resolution or "Unresolved"],
    }
    for alias in ("key", "issuekey", "id", "issue"):
        by_field[alias] = [issue.key, issue.id]
    return by_field[name]


def _matches(issue: Issue, clause: tuple[str, str, list[str]]) -> bool:
    """Evaluate one JQL clause against an issue."""
    name, op, wanted = clause
    have = [v.casefold() for v in _values(issue, name)]
    if op == "~":
        return any(w.casefold() in h for w in wanted for h in have)
    hit = any(w.casefold() in have for w in wanted)
    return hit if op in ("=", "in") else not hit
