"""Options several commands share, as `Annotated` aliases."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from domain.approvals import RequestStatus
from domain.lifecycle import LifecycleState
from domain.manifest import Environment as Environment
from domain.policy import RiskTier
from integrations.ticket_text import DONE, OPEN, REJECTED


class TokenRole(StrEnum):
    """What an API token may do."""

    admin = "admin"
    approver = "approver"
    emitter = "emitter"
    viewer = "viewer"


JsonOpt = Annotated[bool, typer.Option("--json", help="Print the raw JSON response.")]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--id",
        help="Idempotency-Key for this write (default: a fresh uuid4); reuse it to retry safely.",
        show_default=False,
    ),
]
CommentOpt = Annotated[str, typer.Option("--comment", "-m", help="Comment recorded with it.")]
RoleOpt = Annotated[
    str | None,
    typer.Option(
        "--role",
        help="Approver role to decide as (business_owner, technical_owner, security, privacy); "
        "default: the first pending role you hold.",
        show_default=False,
    ),
]
SystemOpt = Annotated[str | None, typer.Option("--system", help="Only this system id.")]
LimitOpt = Annotated[int, typer.Option("--limit", min=1, max=500, help="Page size.")]
OffsetOpt = Annotated[int, typer.Option("--offset", min=0, help="Rows to skip.")]


class Output(StrEnum):
    """How a list command prints: a table for people, wide (no wrapping), TSV or JSON."""

    table = "table"
    wide = "wide"
    tsv = "tsv"
    json = "json"


OutputOpt = Annotated[
    Output,
    typer.Option(
        "--output",
        "-o",
        case_sensitive=False,
        help="table (default), wide (never wraps a cell), tsv (tab-separated, for scripts) or "
        "json (same as --json).",
    ),
]
StateOpt = Annotated[
    LifecycleState | None,
    typer.Option("--state", case_sensitive=False, help="Lifecycle state.", show_default=False),
]
TierOpt = Annotated[
    RiskTier | None,
    typer.Option("--tier", case_sensitive=False, help="Risk tier.", show_default=False),
]
RequestStatusOpt = Annotated[
    RequestStatus | None,
    typer.Option("--status", case_sensitive=False, help="Request status.", show_default=False),
]


class TicketStatus(StrEnum):
    """Where a change-request ticket stands (the local tracker's and Jira's, as recorded)."""

    open = OPEN
    done = DONE
    rejected = REJECTED


TicketStatusOpt = Annotated[
    TicketStatus | None,
    typer.Option("--status", case_sensitive=False, help="Ticket status.", show_default=False),
]
