"""Options several commands share, as `Annotated` aliases."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from domain.manifest import Environment as Environment


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
