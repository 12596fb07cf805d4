"""`SystemHost`: what every mixin of `AISystemWorkflow` may use of the workflow it is mixed into."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.approvals import ApprovalRequest, RequestKind
    from domain.audit import AuditAction
    from domain.contracts import CommandMeta, CommandResult, PolicyRef, SystemView
    from domain.policy import Policy
    from domain.transitions import LifecycleEvent


class SystemHost:
    """Declares (for type checkers only) the state and helpers `AISystemWorkflow` provides."""

    if TYPE_CHECKING:
        _id: str
        _view: SystemView | None
        _policy: Policy
        _policy_digest: str
        _processed: dict[str, str]
        _finished: bool

        def _seen(self, meta: CommandMeta) -> bool: ...
        def _current(self) -> SystemView: ...
        def _replay(self, meta: CommandMeta) -> CommandResult: ...
        def _commit(
            self,
            meta: CommandMeta,
            view: SystemView,
            message: str,
            event: LifecycleEvent | None = None,
        ) -> CommandResult: ...
        def _internal(
            self, view: SystemView, event: LifecycleEvent | None = None
        ) -> SystemView: ...
        def _event(
            self, actor: str, action: AuditAction, request_id: str | None = None, **detail: object
        ) -> None: ...
        @staticmethod
        def _check(check: object) -> None: ...
        def _policy_for(self, ref: PolicyRef) -> Policy: ...
        def _adopt(self, ref: PolicyRef | None) -> Policy: ...
        def _open_request(
            self, view: SystemView, request: ApprovalRequest, *, blocking: bool
        ) -> SystemView: ...
        def _withdraw_request(self, request_id: str, kind: RequestKind, reason: str) -> None: ...
        async def _started(self, result: CommandResult) -> CommandResult: ...
