"""`SystemHost`: what every mixin of `AISystemWorkflow` may use of the workflow it is mixed into."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from domain.approvals import ApprovalRequest
    from domain.policy import Policy
    from workflows.models import CommandMeta, CommandResult, SystemView


class SystemHost:
    """Declares (for type checkers only) the state and helpers `AISystemWorkflow` provides."""

    if TYPE_CHECKING:
        _id: str
        _view: SystemView | None
        _policy: Policy
        _processed: dict[str, str]
        _finished: bool
        _change_busy: bool

        def _seen(self, meta: CommandMeta) -> bool: ...
        def _current(self) -> SystemView: ...
        def _replay(self, meta: CommandMeta) -> CommandResult: ...
        def _commit(self, meta: CommandMeta, view: SystemView, message: str) -> CommandResult: ...
        def _internal(self, view: SystemView) -> SystemView: ...
        def _event(
            self, actor: str, action: str, request_id: str | None = None, **detail: object
        ) -> None: ...
        @staticmethod
        def _check(check: object) -> None: ...
        async def _start_approval(self, request: ApprovalRequest) -> Any: ...
        def _approval_id(self, request_id: str) -> str: ...
