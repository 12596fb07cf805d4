"""Process logging: one JSON object per line, with the request id and the workflow id.

Expected transient failures (a Slack 429 or 5xx, Jira down, Temporal unavailable) are logged as
one line naming the error; anything else keeps its traceback (in the `exc` field as JSON).
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from temporalio import activity, workflow

from core.settings import Settings
from integrations.errors import TransientIntegrationError

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "threshold_request_id", default=None
)
"""The id of the HTTP request being served (set by `api.observe.RequestContext`)."""

TRANSIENT_TYPES = frozenset(
    {
        "TrackerTransientError",
        "SlackRateLimited",
        "SlackTransientError",
        "TransientIntegrationError",
    }
)
"""`ApplicationError.type`s (and exception class names) that are expected to pass on a retry."""

TRANSIENT_RPC = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"})
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def expected_transient(exc: BaseException | None) -> bool:
    """Whether an exception (or one it was raised from) is a failure a retry is expected to fix."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, TransientIntegrationError) or type(exc).__name__ in TRANSIENT_TYPES:
            return True
        if getattr(exc, "type", None) in TRANSIENT_TYPES:  # ApplicationError(type=...)
            return True
        status = getattr(exc, "status", None)  # temporalio.service.RPCError
        if type(exc).__name__ == "RPCError" and getattr(status, "name", None) in TRANSIENT_RPC:
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _workflow_id(record: logging.LogRecord) -> str | None:
    """The workflow id the record belongs to: from the SDK's extras, or the running activity."""
    for name in ("temporal_activity", "temporal_workflow"):
        details = getattr(record, name, None)
        if isinstance(details, dict) and details.get("workflow_id"):
            return str(details["workflow_id"])
    if activity.in_activity():
        return activity.info().workflow_id
    return None


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, ids, error, extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single line of JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        workflow_id = _workflow_id(record)
        if workflow_id:
            entry["workflow_id"] = workflow_id
        details = getattr(record, "temporal_activity", None)
        if isinstance(details, dict) and details.get("activity_type"):
            entry["activity"] = details["activity_type"]
            entry["attempt"] = details.get("attempt")
        entry.update(_extras(record))
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            entry["error"] = f"{type(error).__name__}: {error}"
            if expected_transient(error):
                entry["transient"] = True
            else:
                entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Plain lines for a person at a terminal; expected transient failures stay one line."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The record as text, its traceback dropped when the failure is expected to pass."""
        if record.exc_info and expected_transient(record.exc_info[1]):
            error = record.exc_info[1]
            record = logging.makeLogRecord(vars(record))
            record.msg, record.args = f"{record.getMessage()}: {type(error).__name__}: {error}", ()
            record.exc_info, record.exc_text = None, None
        return super().format(record)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """Fields passed with `extra=`, minus the SDK's internal and context ones."""
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _STANDARD
        and not key.startswith("_")
        and key not in ("temporal_activity", "temporal_workflow", "color_message")
    }


def log_format(settings: Settings) -> str:
    """The configured format: json, or text (the default in development)."""
    chosen = settings.observability.log_format
    if chosen is not None:
        return chosen
    return "text" if settings.environment == "development" else "json"


def temporal_details_as_fields() -> None:
    """Temporal's loggers: workflow and activity details as fields, not appended to messages."""
    activity.logger.activity_info_on_message = False
    workflow.logger.workflow_info_on_message = False


def configure_logging(settings: Settings) -> None:
    """Send every logger (uvicorn's too) to stderr in the configured format and level."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format(settings) == "json":
        handler.setFormatter(JsonFormatter())
        temporal_details_as_fields()
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
