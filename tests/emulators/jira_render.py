"""JSON shapes of Jira's REST API v2, rendered from the emulator's store."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tests.emulators.jira_store import ISSUE_TYPES, Comment, Issue, Project, jira_timestamp
from tests.emulators.jira_workflows import CATEGORIES, RESOLUTIONS, SIMPLIFIED, Transition, Workflow

SYSTEM_FIELDS = {
    "summary": "string",
    "description": "string",
    "status": "status",
    "labels": "array",
    "assignee": "user",
    "reporter": "user",
    "duedate": "date",
    "project": "project",
    "issuetype": "issuetype",
    "comment": "comments-page",
    "created": "datetime",
    "updated": "datetime",
    "resolution": "resolution",
}
ALL_FIELDS = {"*all", "*navigable"}


class Renderer:
    """Builds response bodies with `self` links under one server URL."""

    def __init__(self, url: str, cloud: bool, workflow: Workflow = SIMPLIFIED) -> None:
        self.url = url
        self.cloud = cloud
        self.workflow = workflow
        self.api = f"{url}/rest/api/2"

    def server_info(self) -> dict[str, Any]:
        """Return serverInfo as Cloud or Data Center report it."""
        version = [1001, 0, 0] if self.cloud else [9, 12, 2]
        return {
            "baseUrl": self.url,
            "version": ".".join(map(str, version)) + ("-SNAPSHOT" if self.cloud else ""),
            "versionNumbers": version,
            "deploymentType": "Cloud" if self.cloud else "Server",
            "buildNumber": 100275 if self.cloud else 9120002,
            "buildDate": "2024-01-01T00:00:00.000+0000",
            "serverTime": jira_timestamp(datetime.now(UTC)),
            "scmInfo": "emulated",
            "serverTitle": "Jira (emulated)",
        }

    def user(self, name: str) -> dict[str, Any]:
        """Return a user: Cloud identifies people by accountId, Data Center by name."""
        if self.cloud:
            ident = {"accountId": name, "accountType": "atlassian"}
            link = f"{self.api}/user?accountId={name}"
        else:
            ident = {"name": name, "key": name}
            link = f"{self.api}/user?username={name}"
        email = name if "@" in name else f"{name}@example.com"
        return {"self": link, **ident, "emailAddress": email, "displayName": name, "active": True}

    def fields(self) -> list[dict[str, Any]]:
        """Return the field list the client caches to translate JQL names."""
        found = [
            {
                "id": name,
                "key": name,
                "name": name.title(),
                "custom": False,
                "orderable": True,
                "navigable": True,
                "searchable": True,
                "clauseNames": [name],
                "schema": {"type": kind, "system": name},
            }
            for name, kind in SYSTEM_FIELDS.items()
        ]
        key_field = {"id": "issuekey", "key": "issuekey", "name": "Key", "custom": False}
        return [*found, {**key_field, "clauseNames": ["id", "issue", "issuekey", "key"]}]

    def issue_type(self, type_id: str) -> dict[str, Any]:
        """Return one issue type."""
        return {
            "self": f"{self.api}/issuetype/{type_id}",
            "id": type_id,
            "description": "",
            "name": ISSUE_TYPES[type_id],
            "subtask": False,
            "hierarchyLevel": 0,
        }

    def issue_types(self) -> list[dict[str, Any]]:
        """Return every issue type."""
        return [self.issue_type(type_id) for type_id in ISSUE_TYPES]

    def project(self, project: Project, lead: str) -> dict[str, Any]:
        """Return a project with its issue types expanded."""
        return {
            "self": f"{self.api}/project/{project.id}",
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "projectTypeKey": "software",
            "simplified": False,
            "style": "classic",
            "isPrivate": False,
            "lead": self.user(lead),
            "issueTypes": self.issue_types(),
        }

    def status(self, name: str) -> dict[str, Any]:
        """Return a status with its category."""
        status_id, key = self.workflow.statuses[name]
        category_id, category, colour = CATEGORIES[key]
        return {
            "self": f"{self.api}/status/{status_id}",
            "description": "",
            "iconUrl": f"{self.url}/images/icons/statuses/generic.png",
            "name": name,
            "id": status_id,
            "statusCategory": {
                "self": f"{self.api}/statuscategory/{category_id}",
                "id": category_id,
                "key": key,
                "colorName": colour,
                "name": category,
            },
        }

    def issue_url(self, issue: Issue) -> str:
        """Return the `self` link of an issue."""
        return f"{self.api}/issue/{issue.id}"

    def comment(self, issue: Issue, comment: Comment) -> dict[str, Any]:
        """Return one comment."""
        author = self.user(comment.author)
        return {
            "self": f"{self.issue_url(issue)}/comment/{comment.id}",
            "id": comment.id,
            "author": author,
            "body": comment.body,
            "updateAuthor": author,
            "created": comment.created,
            "updated": comment.created,
            "jsdPublic": True,
        }

    def comments(self, issue: Issue) -> dict[str, Any]:
        """Return the comment page of an issue."""
        found = [self.comment(issue, c) for c in issue.comments]
        return {"comments": found, "maxResults": len(found), "total": len(found), "startAt": 0}

    def _fields_of(self, issue: Issue) -> dict[str, Any]:
        """Return every field of an issue as Jira renders it."""
        type_id = next(k for k, v in ISSUE_TYPES.items() if v == issue.issue_type)
        project = self.project(issue.project, issue.reporter)
        project.pop("issueTypes")
        resolution = issue.resolution and self.resolution(issue.resolution)
        return {
            "summary": issue.summary,
            "description": issue.description,
            "issuetype": self.issue_type(type_id),
            "project": project,
            "labels": list(issue.labels),
            "assignee": self.user(next(iter(issue.assignee.values()))) if issue.assignee else None,
            "reporter": self.user(issue.reporter),
            "duedate": issue.duedate,
            "status": self.status(issue.status),
            "resolution": resolution or None,
            "created": issue.created,
            "updated": issue.updated,
            "comment": self.comments(issue),
        }

    def issue(self, issue: Issue, fields: Iterable[str] | None = None) -> dict[str, Any]:
        """Return an issue; `fields` limits the fields as the `fields` parameter does."""
        wanted = set(fields or ALL_FIELDS)
        everything = self._fields_of(issue)
        if not wanted & ALL_FIELDS:
            everything = {k: v for k, v in everything.items() if k in wanted}
        return {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog",
            "id": issue.id,
            "self": self.issue_url(issue),
            "key": issue.key,
            "fields": everything,
        }

    def resolution(self, name: str) -> dict[str, Any]:
        """Return a resolution."""
        ident = RESOLUTIONS[name]
        return {"self": f"{self.api}/resolution/{ident}", "id": ident, "name": name}

    def _screen(self, step: Transition) -> dict[str, Any]:
        """The fields of a transition's screen (`expand=transitions.fields`)."""
        if not step.resolutions:
            return {}
        return {
            "resolution": {
                "required": True,
                "schema": {"type": "resolution", "system": "resolution"},
                "name": "Resolution",
                "key": "resolution",
                "hasDefaultValue": False,
                "operations": ["set"],
                "allowedValues": [self.resolution(r) for r in step.resolutions],
            }
        }

    def transitions(self, steps: Iterable[Transition], with_fields: bool) -> dict[str, Any]:
        """Return the transitions available from a status; screens only when expanded."""
        rendered = []
        for step in steps:
            item: dict[str, Any] = {
                "id": step.id,
                "name": step.name,
                "to": self.status(step.to),
                "hasScreen": bool(step.resolutions),
                "isGlobal": False,
                "isInitial": False,
                "isAvailable": True,
                "isConditional": False,
                "isLooped": False,
            }
            if with_fields:
                item["fields"] = self._screen(step)
            rendered.append(item)
        return {"expand": "transitions", "transitions": rendered}
