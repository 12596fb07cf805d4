"""Scope-change events: CloudEvents 1.0 (structured JSON) parsing and applying to a manifest.

Deploy scripts send one event per change (`parse_cloudevent`) or a batch
(`application/cloudevents-batch+json`, `parse_batch`). `event_key` is the idempotency key;
`apply_event` gives the proposed manifest, which `changes.assess_change` then judges.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from domain.errors import InvalidInput, Problem
from domain.manifest import (
    SYSTEM_ID_PATTERN,
    AISystemManifest,
    Autonomy,
    Credential,
    DataClassification,
    Environment,
    ModelRef,
    SystemId,
    UseCase,
)
from domain.mcp import McpAnnotations, with_snapshot
from domain.secrets import (
    FreeText,
    NotSecret,
    check_text,
    scrub,
    secret_message,
    shown,
    text_message,
)


class EventType(StrEnum):
    """The CloudEvents `type` values Threshold accepts."""

    scope_changed = "dev.threshold.scope.changed"
    model_changed = "dev.threshold.model.changed"
    credential_changed = "dev.threshold.credential.changed"
    manifest_declared = "dev.threshold.manifest.declared"
    mcp_tools_listed = "dev.threshold.mcp.tools_listed"


SCOPE_CHANGED = EventType.scope_changed
MODEL_CHANGED = EventType.model_changed
CREDENTIAL_CHANGED = EventType.credential_changed
MANIFEST_DECLARED = EventType.manifest_declared
MCP_TOOLS_LISTED = EventType.mcp_tools_listed
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"

Item = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(check_text)
]


class EventData(BaseModel):
    """Base for event payloads: unknown fields are refused, never silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def problems(self) -> list[Problem]:
        """Contradictions a valid shape can still hold (none by default)."""
        return []


# (event suffix, Capabilities field, how one item is named in messages)
CAPABILITY_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("read", "read_targets", "read target"),
    ("write", "write_targets", "write target"),
    ("tools", "tools", "tool"),
    ("automated_decisions", "automated_decisions", "automated decision"),
    ("downstream", "downstream_automation", "downstream automation"),
)


def _items(description: str) -> Any:
    """An optional list field of a scope change (absent: nothing added or removed)."""
    return Field(default_factory=list, description=description)


def _new(description: str) -> Any:
    """An optional replacement value of a scope change (absent or null: unchanged)."""
    return Field(default=None, description=description)


class ScopeChange(EventData):
    """`dev.threshold.scope.changed`: capabilities added or removed, scope fields replaced."""

    add_read: list[Item] = _items("Read targets to add.")
    remove_read: list[Item] = _items("Read targets to remove (each must be a current one).")
    add_write: list[Item] = _items("Write targets to add.")
    remove_write: list[Item] = _items("Write targets to remove (each must be a current one).")
    add_tools: list[Item] = _items("Tools to add.")
    remove_tools: list[Item] = _items("Tools to remove (each must be a current one).")
    add_automated_decisions: list[Item] = _items("Automated decisions the system starts making.")
    remove_automated_decisions: list[Item] = _items("Automated decisions it stops making.")
    add_downstream: list[Item] = _items("Downstream automation it starts triggering.")
    remove_downstream: list[Item] = _items("Downstream automation it stops triggering.")
    autonomy: Autonomy | None = _new("The new autonomy.")
    data_classification: DataClassification | None = _new("The new data classification.")
    synthetic_data_only: bool | None = _new("Whether it now uses synthetic data only.")
    customer_facing: bool | None = _new("Whether customers now see or talk to it.")
    environment: Environment | None = _new("The environment it now declares.")
    use_cases: list[UseCase] | None = _new("The complete new list of use cases (replaces it).")
    description: FreeText | None = _new("The new description.")

    def problems(self) -> list[Problem]:
        """Contradictions a valid shape can still hold, each naming its `data.` field."""
        if not self.model_dump(exclude_defaults=True):
            names = ", ".join(type(self).model_fields)
            return [Problem("data", f"the event changes nothing: give at least one of {names}")]
        found: list[Problem] = []
        for suffix, _, noun in CAPABILITY_FIELDS:
            added = set(getattr(self, f"add_{suffix}"))
            for index, item in enumerate(getattr(self, f"remove_{suffix}")):
                if item in added:
                    found.append(
                        Problem(
                            f"data.remove_{suffix}[{index}]",
                            f"{noun} {item!r} is both added and removed: keep one of the two",
                        )
                    )
        return found


class ModelChange(EventData):
    """`dev.threshold.model.changed`: the model behind the system is now this one."""

    provider: FreeText = Field(min_length=1, description="Model provider, e.g. anthropic.")
    name: FreeText = Field(min_length=1, description="Model name, e.g. claude-sonnet.")
    version: FreeText = Field(min_length=1, description="Model version, e.g. 2026-09.")


class CredentialAction(StrEnum):
    """What happened to a credential."""

    added = "added"
    removed = "removed"
    rotated = "rotated"


class CredentialChange(EventData):
    """`dev.threshold.credential.changed`: a credential bound, unbound or rotated."""

    action: CredentialAction = Field(description="added, removed or rotated.")
    credential: Credential | None = Field(
        default=None,
        description="The whole credential (a vault reference, never the secret); "
        "required for added and rotated.",
    )
    credential_id: NotSecret | None = Field(
        default=None, min_length=1, description="The id of the credential; required for removed."
    )

    @property
    def target_id(self) -> str:
        """The id of the credential this change concerns."""
        return self.credential.id if self.credential is not None else str(self.credential_id)

    def problems(self) -> list[Problem]:
        """Which of credential and credential_id each action needs."""
        if self.action is CredentialAction.removed:
            if self.credential_id is None:
                return [Problem("data.credential_id", "missing: name the credential to remove")]
            if self.credential is not None:
                return [Problem("data.credential", "give only credential_id to remove one")]
            return []
        if self.credential is None:
            return [
                Problem(
                    "data.credential",
                    f"missing: a credential {self.action.value} needs the whole credential "
                    "(id, kind, environment, owner, expires_at, vault_ref)",
                )
            ]
        if self.credential_id is not None and self.credential_id != self.credential.id:
            return [
                Problem(
                    "data.credential_id",
                    f"{self.credential_id!r} differs from credential.id {self.credential.id!r}: "
                    "omit credential_id or make them equal",
                )
            ]
        return []


class ManifestDeclared(EventData):
    """`dev.threshold.manifest.declared`: the whole manifest as the deploying repository has it."""

    manifest: AISystemManifest = Field(description="The complete manifest being deployed.")


class McpListedTool(BaseModel):
    """One tool of an MCP `tools/list` result; description and schemas are read, not kept."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: Item = Field(max_length=128)
    description: str | None = None
    inputSchema: dict[str, Any] | None = None  # noqa: N815 - the MCP field name
    annotations: McpAnnotations = Field(default_factory=McpAnnotations)


class McpToolsListed(EventData):
    """`dev.threshold.mcp.tools_listed`: a server's `tools/list` result, diffed with the approved."""

    server: Item = Field(max_length=128, description="The MCP server's name in the manifest.")
    url: Item | None = Field(default=None, description="Where the server answers (optional).")
    tools: list[McpListedTool] = Field(description="The `tools/list` result's `tools`.")
    nextCursor: str | None = None  # noqa: N815 - the MCP field name

    def problems(self) -> list[Problem]:
        """A paginated result is incomplete: the whole list must be sent at once."""
        names = [tool.name for tool in self.tools]
        found = [
            Problem(f"data.tools[{i}].name", f"{name!r} is listed twice: list each tool once")
            for i, name in enumerate(names)
            if name in names[:i]
        ]
        if self.nextCursor:
            found.append(Problem("data.nextCursor", "send every page of tools/list in one event"))
        return found


Change = ScopeChange | ModelChange | CredentialChange | ManifestDeclared | McpToolsListed
_DATA_MODELS: dict[EventType, type[EventData]] = {
    EventType.scope_changed: ScopeChange,
    EventType.model_changed: ModelChange,
    EventType.credential_changed: CredentialChange,
    EventType.manifest_declared: ManifestDeclared,
    EventType.mcp_tools_listed: McpToolsListed,
}


class ScopeEvent(BaseModel):
    """One parsed scope-change event: who sent it, about which system, and the typed change."""

    model_config = ConfigDict(frozen=True)
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: EventType
    subject: SystemId
    time: datetime | None = None
    change: Change

    @model_validator(mode="after")
    def _change_matches_type(self) -> ScopeEvent:
        if not isinstance(self.change, _DATA_MODELS[self.type]):
            raise ValueError(f"a {self.type} event carries {_DATA_MODELS[self.type].__name__}")
        return self


def event_key(event: ScopeEvent) -> str:
    """The idempotency key: CloudEvents makes `source` + `id` unique per event."""
    return f"{event.source}#{event.id}"


# --- envelope checks: each returns the fix for a bad value, or None -------------------------

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")
_JSON_MEDIA = re.compile(r"^application/([\w.+-]+\+)?json\s*(;.*)?$", re.IGNORECASE)
_ALLOWED_TYPES = ", ".join(EventType)


def _text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _check_specversion(value: Any) -> str | None:
    return None if value == "1.0" else f'{shown(value)} is not supported: set specversion to "1.0"'


def _check_id(value: Any) -> str | None:
    if not _text(value):
        return f"{shown(value)} is not valid: give a non-empty string"
    return secret_message(value, "use a deploy or build id, never a secret", identifier=True)


def _check_source(value: Any) -> str | None:
    if not _text(value) or any(ch.isspace() for ch in value):
        return f"{shown(value)} is not valid: give a URI-reference without spaces"
    return text_message(value)


def _check_type(value: Any) -> str | None:
    if isinstance(value, str) and value in {kind.value for kind in EventType}:
        return None
    return f"{shown(value)} is not supported: allowed: {_ALLOWED_TYPES}"


def _check_subject(value: Any) -> str | None:
    if isinstance(value, str) and re.match(SYSTEM_ID_PATTERN, value):
        return None
    return f"{shown(value)} is not a system id: use 3-64 lowercase letters, digits and dashes"


def _check_data(value: Any) -> str | None:
    return None if isinstance(value, dict) else "give the change as a JSON object"


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.upper())


def _check_time(value: Any) -> str | None:
    if isinstance(value, str) and _RFC3339.match(value):
        try:
            _parse_time(value)
        except ValueError:
            return f"{shown(value)} is not a real date and time: use e.g. 2026-11-26T09:30:00Z"
        return None
    return f"{shown(value)} is not an RFC 3339 timestamp: use e.g. 2026-11-26T09:30:00Z"


def _check_content_type(value: Any) -> str | None:
    if isinstance(value, str) and _JSON_MEDIA.match(value):
        return None
    return f"{shown(value)} is not supported: send data as JSON (application/json) or omit it"


def _check_dataschema(value: Any) -> str | None:
    if not _text(value):
        return f"{shown(value)} is not valid: give a URI or omit dataschema"
    return text_message(value)


Check = Callable[[Any], str | None]
_REQUIRED: dict[str, tuple[Check, str]] = {
    "specversion": (_check_specversion, 'set specversion to "1.0"'),
    "id": (_check_id, "give an event id unique per source (it makes delivery idempotent)"),
    "source": (
        _check_source,
        "give a URI-reference naming the sender, e.g. /deploy/support-assistant",
    ),
    "type": (_check_type, f"allowed: {_ALLOWED_TYPES}"),
    "subject": (_check_subject, "give the id of the system that changed"),
    "data": (_check_data, "give the change as a JSON object"),
}
_OPTIONAL: dict[str, Check] = {
    "time": _check_time,
    "datacontenttype": _check_content_type,
    "dataschema": _check_dataschema,
}


def _envelope_problems(event: dict[str, Any]) -> list[Problem]:
    found: list[Problem] = []
    for name, (check, hint) in _REQUIRED.items():
        if name not in event:
            found.append(Problem(name, f"missing: {hint}"))
        elif (fix := check(event[name])) is not None:
            found.append(Problem(name, fix))
    for name, optional in _OPTIONAL.items():
        if name in event and (fix := optional(event[name])) is not None:
            found.append(Problem(name, fix))
    for name in sorted(event.keys() - _REQUIRED.keys() - _OPTIONAL.keys()):
        extension = event[name]
        if name == "data_base64":
            found.append(Problem(name, "binary data is not accepted: send data as a JSON object"))
        elif not _EXTENSION_NAME.match(name):
            found.append(
                Problem(
                    scrub(name),
                    "unknown attribute: extension names are 1-20 lowercase letters or digits; "
                    "check the spelling",
                )
            )
        elif isinstance(extension, str) and (fix := text_message(extension)) is not None:
            found.append(Problem(name, fix))
    return found


def _data_path(loc: Sequence[int | str]) -> str:
    return "data" + "".join(
        f"[{part}]" if isinstance(part, int) else f".{scrub(part)}" for part in loc
    )


def _data_problems(exc: ValidationError, model: type[EventData]) -> list[Problem]:
    found: list[Problem] = []
    for error in exc.errors():
        loc, kind, given = error["loc"], error["type"], error.get("input")
        quoted = shown(given)
        detail = scrub(str(error["msg"]).removeprefix("Value error, "))
        if kind == "missing":
            message = "missing: this field is required"
        elif kind == "extra_forbidden" and len(loc) == 1:
            message = f"unknown field; allowed: {', '.join(model.model_fields)}"
        elif kind == "extra_forbidden":
            message = "unknown field; remove it or check its spelling"
        elif kind == "enum":
            message = f"{quoted} is not valid: allowed: {(error.get('ctx') or {})['expected']}"
        elif "looks like a secret value" in detail:
            message = detail  # the value is never quoted back
        else:
            message = f"{quoted} is not valid: {detail}"
        found.append(Problem(_data_path(loc), message))
    return found


def _parse_change(kind: EventType, data: dict[str, Any]) -> Change | list[Problem]:
    model = _DATA_MODELS[kind]
    try:
        change = model.model_validate(data)
    except ValidationError as exc:
        return _data_problems(exc, model)
    assert isinstance(change, Change)
    return change.problems() or change


def _refused(what: str, problems: list[Problem]) -> InvalidInput:
    detail = "; ".join(f"{p.field}: {p.message}" for p in problems)
    return InvalidInput(f"{what}: {detail}", problems)


def _refused_one(what: str, field: str, message: str) -> InvalidInput:
    return _refused(what, [Problem(field, message)])


def parse_cloudevent(data: Any) -> ScopeEvent:
    """Validate one structured-mode CloudEvent; every problem names its attribute or `data.` field."""
    if not isinstance(data, dict):
        raise _refused("invalid event", [Problem("(event)", "give a CloudEvent as a JSON object")])
    problems = _envelope_problems(data)
    change: Change | list[Problem] = []
    if not any(p.field in {"type", "data"} for p in problems):
        change = _parse_change(EventType(data["type"]), data["data"])
        problems += change if isinstance(change, list) else []
    if problems or isinstance(change, list):
        raise _refused("invalid event", problems)
    time = data.get("time")
    return ScopeEvent(
        id=data["id"],
        source=data["source"],
        type=EventType(data["type"]),
        subject=data["subject"],
        time=_parse_time(time) if time is not None else None,
        change=change,
    )


def parse_batch(data: Any) -> list[ScopeEvent | InvalidInput]:
    """Parse an `application/cloudevents-batch+json` array; each bad item's error in its place."""
    if not isinstance(data, list):
        raise _refused("invalid batch", [Problem("(batch)", "give a JSON array of CloudEvents")])
    results: list[ScopeEvent | InvalidInput] = []
    for item in data:
        try:
            results.append(parse_cloudevent(item))
        except InvalidInput as error:
            results.append(error)
    return results


# --- applying an event -----------------------------------------------------------------------


def apply_event(manifest: AISystemManifest, event: ScopeEvent) -> AISystemManifest:
    """The proposed manifest once the event's change is made; refusals name the `data.` field."""
    what = f"cannot apply event {event.id} to {manifest.id}"
    if event.subject != manifest.id:
        raise _refused_one(what, "subject", f"{event.subject!r} is not {manifest.id!r}")
    change = event.change
    if problems := change.problems():
        raise _refused(what, problems)
    if isinstance(change, ScopeChange):
        updates = _scope_updates(manifest, change, what)
    elif isinstance(change, ModelChange):
        updates = {"model": ModelRef(**change.model_dump())}
    elif isinstance(change, ManifestDeclared):
        if change.manifest.id != manifest.id:
            raise _refused_one(
                what, "data.manifest.id", f"{change.manifest.id!r} is not {manifest.id!r}"
            )
        return change.manifest
    elif isinstance(change, McpToolsListed):
        tools = [{"name": t.name, "annotations": t.annotations} for t in change.tools]
        updates = {
            "mcp_servers": with_snapshot(manifest.mcp_servers, change.server, change.url, tools)
        }
    else:
        updates = {"credentials": _credentials_after(manifest, change, what)}
    return AISystemManifest.model_validate({**dict(manifest), **updates})


def _scope_updates(manifest: AISystemManifest, change: ScopeChange, what: str) -> dict[str, Any]:
    problems: list[Problem] = []
    capabilities: dict[str, list[str]] = {}
    for suffix, field, noun in CAPABILITY_FIELDS:
        current: list[str] = getattr(manifest.capabilities, field)
        removed: list[str] = getattr(change, f"remove_{suffix}")
        listing = ", ".join(current) or "none"
        problems += [
            Problem(
                f"data.remove_{suffix}[{index}]",
                f"{item!r} is not a current {noun}; current: {listing}",
            )
            for index, item in enumerate(removed)
            if item not in current
        ]
        kept = [item for item in current if item not in removed]
        capabilities[field] = list(dict.fromkeys(kept + getattr(change, f"add_{suffix}")))
    if problems:
        raise _refused(what, problems)
    lists = {f"{verb}_{suffix}" for verb in ("add", "remove") for suffix, _, _ in CAPABILITY_FIELDS}
    replaced = change.model_dump(exclude=lists, exclude_none=True)
    updates: dict[str, Any] = {key: getattr(change, key) for key in replaced}
    updates["capabilities"] = manifest.capabilities.model_copy(update=capabilities)
    return updates


def _credentials_after(
    manifest: AISystemManifest, change: CredentialChange, what: str
) -> list[Credential]:
    bound = {credential.id: credential for credential in manifest.credentials}
    target, new = change.target_id, change.credential
    listing = ", ".join(bound) or "none"
    if change.action is CredentialAction.removed or new is None:
        if target not in bound:
            raise _refused_one(
                what, "data.credential_id", f"{target!r} is not bound; bound: {listing}"
            )
        return [credential for credential in manifest.credentials if credential.id != target]
    if change.action is CredentialAction.added and target in bound:
        raise _refused_one(
            what,
            "data.credential.id",
            f"{target!r} is already bound: send action rotated to replace it",
        )
    if change.action is CredentialAction.rotated and target not in bound:
        raise _refused_one(
            what,
            "data.credential.id",
            f"{target!r} is not bound (bound: {listing}): send action added to bind it",
        )
    bound[target] = new
    return list(bound.values())
