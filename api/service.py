"""`GovernanceService`: every command and query the API, Slack and dashboard send to Temporal."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from api.faults import temporal_call
from core.policy import load_policy
from core.settings import Settings
from db.actions import IngestResult, ScopeCache, UnknownSystems, ingest_actions
from db.projection import list_systems, shared_credentials
from db.queries import system_sharing
from db.tables import utcnow
from domain.actions import ActionRecord
from domain.approvals import ApprovalRequest, DecisionCommand, RequestStatus
from domain.authorize import AuthorizeRequest
from domain.contracts import (
    ActionApprovalCommand,
    ActionFindingSignal,
    AmendCommand,
    ChangeCommand,
    CommandMeta,
    CommandResult,
    ContainCommand,
    DecideCommand,
    DecideResult,
    GrantExceptionCommand,
    PolicyCommand,
    PolicyRef,
    PromoteCommand,
    RecertifyCommand,
    RegisterCommand,
    ReleaseCommand,
    RequestClosed,
    RetireCommand,
    RevokeExceptionCommand,
    SystemView,
    SystemWorkflowInput,
    approval_workflow_id,
    system_workflow_id,
)
from domain.errors import Conflict, GovernanceError, NotFound, Problem
from domain.events import CredentialChange, EventType, ManifestDeclared, ScopeEvent, event_key
from domain.lifecycle import GateResult, LifecycleState
from domain.manifest import AISystemManifest, Environment
from domain.policy import policy_digest
from domain.recertification import CHECKLIST
from domain.registration import check_registration, registered_view
from workflows.ai_system import AISystemWorkflow
from workflows.approval import ApprovalWorkflow

C = TypeVar("C", bound=BaseModel)
R = TypeVar("R")
KNOWN_POLICIES = 50_000
"""How many systems' held policy digests an API process remembers (a miss sends the policy)."""


def command_meta(principal: str, idempotency_key: str | None) -> CommandMeta:
    """Command envelope; the idempotency key (or a fresh id) becomes the update id."""
    return CommandMeta(command_id=idempotency_key or uuid.uuid4().hex, principal=principal)


def governance_error(exc: BaseException) -> GovernanceError | None:
    """Translate a refused update back into the domain error it started as."""
    cause: BaseException | None = exc.cause if isinstance(exc, WorkflowUpdateFailedError) else exc
    if not isinstance(cause, ApplicationError) or cause.type is None:
        return None
    details: dict[str, Any] = cause.details[0] if cause.details else {}
    problems = [Problem(p["field"], p["message"]) for p in details.get("problems", [])]
    error = GovernanceError(cause.message, problems, cause.type)
    return error


class GovernanceService:
    """Talks to the workflows; raises `GovernanceError` for anything a caller did wrong."""

    def __init__(self, client: Client, settings: Settings, engine: Engine) -> None:
        self.client = client
        self.settings = settings
        self.engine = engine
        self.prefix = settings.temporal.workflow_id_prefix
        self.scopes = ScopeCache()
        self._held: OrderedDict[str, str] = OrderedDict()  # system id → policy digest it holds

    async def _sharing(self, system_id: str) -> dict[str, list[str]]:
        """Which live systems share this system's credentials (itself included).

        One indexed read of the projection; a system it does not show yet (just registered)
        or that holds no credential is asked for its manifest instead.
        """
        shared = system_sharing(self.engine, system_id=system_id)
        if shared:
            return shared
        return self._shared((await self.view(system_id)).manifest)

    def _policy_ref(self, system_id: str) -> PolicyRef:
        """The current policy by digest, carrying the policy only if the system may lack it."""
        policy = load_policy(self.settings)
        digest = policy_digest(policy)
        if self._held.get(system_id) == digest:
            return PolicyRef(digest=digest)
        return PolicyRef(digest=digest, policy=policy)

    def _holds(self, system_id: str, digest: str) -> None:
        """Remember which policy a system said it decides with."""
        if not digest:
            return
        self._held[system_id] = digest
        self._held.move_to_end(system_id)
        if len(self._held) > KNOWN_POLICIES:
            self._held.popitem(last=False)

    def _shared(self, manifest: AISystemManifest) -> dict[str, list[str]]:
        """Which live systems declare the manifest's credentials (one indexed read)."""
        return shared_credentials(self.engine, credential_ids=[c.id for c in manifest.credentials])

    async def _update(
        self,
        workflow_id: str,
        update: UpdateMethodMultiParam[[Any, C], R],
        arg: C,
        update_id: str,
    ) -> R:
        """Send one update and return its own result: what was decided, the new version."""
        handle = self.client.get_workflow_handle(workflow_id)
        async with temporal_call(self.client, self.settings.temporal):
            try:
                return await handle.execute_update(update, arg, id=update_id)
            except WorkflowUpdateFailedError as exc:
                raise self._refused(exc) from None
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND and await self._closed(workflow_id):
                    raise self._rpc(
                        RPCError("workflow completed", exc.status, exc.raw_grpc_status), workflow_id
                    ) from None
                raise self._rpc(exc, workflow_id) from None

    async def _closed(self, workflow_id: str) -> bool:
        """True when the workflow exists but has ended (it closed while the command travelled)."""
        try:
            described = await self.client.get_workflow_handle(workflow_id).describe()
        except RPCError:
            return False
        return described.status != WorkflowExecutionStatus.RUNNING

    async def _command(
        self,
        system_id: str,
        update: UpdateMethodMultiParam[[Any, C], CommandResult],
        arg: C,
        update_id: str | None = None,
    ) -> CommandResult:
        """A command on a system's workflow, with the policy by digest (sent whole if needed).

        `update_id` defaults to the command's id (its idempotency key).
        """
        workflow_id = system_workflow_id(system_id, self.prefix)
        meta: CommandMeta = getattr(arg, "meta")  # noqa: B009 - every command has one
        update_id = update_id or meta.command_id
        try:
            result = await self._update(workflow_id, update, arg, update_id)
        except GovernanceError as error:
            policy = getattr(arg, "policy", None)
            if error.code != "policy_outdated" or not isinstance(policy, PolicyRef):
                raise
            full = PolicyRef.full(load_policy(self.settings))
            arg = arg.model_copy(update={"policy": full})
            result = await self._update(workflow_id, update, arg, update_id)
        self._holds(system_id, result.policy_digest)
        return result

    async def _query(self, workflow_id: str, query: Any, *args: Any) -> Any:
        """Ask a workflow; a missing one becomes a clear `NotFound`."""
        async with temporal_call(self.client, self.settings.temporal):
            try:
                return await self.client.get_workflow_handle(workflow_id).query(query, *args)
            except RPCError as exc:
                raise self._rpc(exc, workflow_id) from None

    @staticmethod
    def _refused(exc: WorkflowUpdateFailedError) -> Exception:
        return governance_error(exc) or exc

    @staticmethod
    def _rpc(exc: RPCError, workflow_id: str) -> Exception:
        kind, _, name = workflow_id.partition(":")
        if exc.status == RPCStatusCode.NOT_FOUND:
            if "completed" in exc.message:
                return Conflict(f"{name} is closed (retired or decided); it takes no more commands")
            kind = "request" if kind.endswith("approval") else "system"
            return NotFound(f"{kind} {name} not found")
        return exc

    async def register(self, manifest: AISystemManifest, meta: CommandMeta) -> CommandResult:
        """Register a system: check it here, then one workflow start carries the registration.

        A start is Temporal's cheapest write; the answer is computed by the same pure function
        the workflow runs. When the id is taken (a repeat, a conflict, a retired system) the
        register update on the running workflow decides, exactly as before.
        """
        now = utcnow()
        policy = load_policy(self.settings)
        command = RegisterCommand(
            meta=meta,
            manifest=manifest,
            policy=policy,
            shared_credentials=self._shared(manifest),
            at=now,
        )
        view, message = registered_view(command, now)  # classified once, for the check too
        check_registration(manifest.id, manifest, policy, now, view.requirements)
        workflow_id = system_workflow_id(manifest.id, self.prefix)
        try:
            async with temporal_call(self.client, self.settings.temporal):
                await self.client.start_workflow(
                    AISystemWorkflow.run,
                    SystemWorkflowInput(
                        system_id=manifest.id,
                        max_history_events=self.settings.temporal.max_history_events,
                        registration=command,
                    ),
                    id=workflow_id,
                    task_queue=self.settings.temporal.task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                )
        except WorkflowAlreadyStartedError:
            return await self._register_existing(workflow_id, command)
        digest = policy_digest(policy)
        self._holds(manifest.id, digest)
        return CommandResult(
            command_id=meta.command_id, system=view, message=message, policy_digest=digest
        )

    async def _register_existing(self, workflow_id: str, command: RegisterCommand) -> CommandResult:
        """The id is taken: a repeat of this command (its first answer), another one, or retired."""
        handle = self.client.get_workflow_handle(workflow_id)
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            view: SystemView | None = await handle.query(AISystemWorkflow.view)
            if view is not None and view.state is not LifecycleState.retired and not view.retiring:
                try:
                    result: CommandResult = await handle.execute_update(
                        AISystemWorkflow.register, command, id=command.meta.command_id
                    )
                    return result
                except WorkflowUpdateFailedError as exc:
                    raise self._refused(exc) from None
                except RPCError as exc:  # closed since the describe: retired meanwhile
                    if exc.status != RPCStatusCode.NOT_FOUND:
                        raise
        raise Conflict(
            f"system id {command.manifest.id} was retired (or is being retired); choose a new id"
        )

    async def amend(self, manifest: AISystemManifest, meta: CommandMeta) -> CommandResult:
        """Replace a pilot system's manifest."""
        command = AmendCommand(
            meta=meta,
            manifest=manifest,
            policy=self._policy_ref(manifest.id),
            shared_credentials=self._shared(manifest),
        )
        return await self._command(manifest.id, AISystemWorkflow.amend, command)

    async def request_promotion(
        self, system_id: str, meta: CommandMeta, comment: str
    ) -> CommandResult:
        """Open a promotion request (refused with every blocking gap listed).

        One indexed read (which live systems share this system's credentials) and one update:
        the workflow classifies its own manifest.
        """
        command = PromoteCommand(
            meta=meta,
            policy=self._policy_ref(system_id),
            comment=comment,
            shared_credentials=await self._sharing(system_id),
        )
        return await self._command(system_id, AISystemWorkflow.request_promotion, command)

    async def request_action_approval(
        self, ask: AuthorizeRequest, meta: CommandMeta, reasons: list[str]
    ) -> CommandResult:
        """Open a just-in-time approval of one action (authorize answered require_approval)."""
        command = ActionApprovalCommand(
            meta=meta, policy=self._policy_ref(ask.system), ask=ask, reasons=reasons
        )
        return await self._command(ask.system, AISystemWorkflow.request_action_approval, command)

    async def retire(self, system_id: str, meta: CommandMeta, reason: str) -> CommandResult:
        """Retire a system for good."""
        command = RetireCommand(meta=meta, reason=reason)
        return await self._command(system_id, AISystemWorkflow.retire, command)

    async def decide(
        self, request_id: str, meta: CommandMeta, decision: DecisionCommand
    ) -> DecideResult:
        """Approve or reject a request as `meta.principal`.

        A closing decision is handed to the system in a second update, whose own result is
        the system as it now stands: once this returns, every gate and view shows it. A
        retry of one's own decision (with or without its key) is answered as a duplicate.
        """
        command = DecideCommand(meta=meta, decision=decision)
        try:
            result = await self._update(
                approval_workflow_id(request_id, self.prefix),
                ApprovalWorkflow.decide,
                command,
                meta.command_id,
            )
        except GovernanceError as refused:
            own = (
                await self._own_decision(request_id, decision)
                if refused.code == "conflict"
                else None
            )
            if own is None:
                raise
            return own
        request = result.request
        if request.status is RequestStatus.pending:
            return result
        return result.model_copy(update={"system": await self._hand_over(request)})

    async def _hand_over(self, request: ApprovalRequest) -> SystemView | None:
        """Tell the system its request closed; the decision stands even if it cannot answer.

        The approval workflow signals the system too, so a system that is busy or gone here
        still learns of the outcome (or had nothing left to learn): never an error.
        """
        try:
            closed = await self._update(
                system_workflow_id(request.system_id, self.prefix),
                AISystemWorkflow.close_request,
                RequestClosed(request=request),
                f"closed:{request.id}",
            )
        except (GovernanceError, RPCError):
            return None
        return closed.system

    async def _own_decision(
        self, request_id: str, decision: DecisionCommand
    ) -> DecideResult | None:
        """The caller's earlier identical decision on this request, as a duplicate answer."""
        try:
            request = await self._settled_request(request_id)
        except GovernanceError:
            return None
        who = decision.principal.lower()
        mine = [d for d in request.decisions if d.principal.lower() == who]
        if request.status in (RequestStatus.expired, RequestStatus.withdrawn):
            return None  # it closed without the decisions: say so, even to an earlier decider
        if not mine or mine[0].approve != decision.approve:
            return None
        verb = "approved" if decision.approve else "rejected"
        message = (
            f"{decision.principal} already {verb} as {mine[0].role.value}; nothing was done "
            f"again (request {request.status.value})"
        )
        return DecideResult(
            command_id=f"decided:{request.id}:{who}",
            request=request,
            message=message,
            duplicate=True,
        )

    async def _settled_request(self, request_id: str) -> ApprovalRequest:
        """An approval request's state, from its workflow's query or, once closed, its result."""
        try:
            return await self.request(request_id)
        except GovernanceError:
            handle = self.client.get_workflow_handle(approval_workflow_id(request_id, self.prefix))
            result: ApprovalRequest = await handle.result()
            return result

    async def view(self, system_id: str) -> SystemView:
        """The system's live state from its workflow."""
        workflow_id = system_workflow_id(system_id, self.prefix)
        view: SystemView | None = await self._query(workflow_id, AISystemWorkflow.view)
        if view is None:
            raise NotFound(f"system {system_id} not found")
        if view.pending_request is not None:
            try:
                live = await self.request(view.pending_request.id)
            except NotFound:  # opened by a timer or a finding a moment ago: not started yet
                return view
            view = view.model_copy(update={"pending_request": live})
        return view

    async def request(self, request_id: str) -> ApprovalRequest:
        """An approval request's live state from its workflow."""
        workflow_id = approval_workflow_id(request_id, self.prefix)
        result: ApprovalRequest = await self._query(workflow_id, ApprovalWorkflow.request)
        return result

    async def gate(self, system_id: str, environment: Environment) -> GateResult:
        """The deploy gate for one environment."""
        workflow_id = system_workflow_id(system_id, self.prefix)
        result: GateResult = await self._query(workflow_id, AISystemWorkflow.gate, environment)
        return result

    # ----- recertification and exceptions ---------------------------------------------------

    async def recertify(
        self, system_id: str, meta: CommandMeta, approve: bool, comment: str, via: str = "api"
    ) -> DecideResult:
        """Attest (or refuse) the system's recertification as the caller.

        Opens the cycle's request first when none is open (early, or after a refusal), then
        decides on it through the approval machinery, so every approval rule applies.
        """
        opened = await self._command(
            system_id,
            AISystemWorkflow.open_recertification,
            RecertifyCommand(
                meta=meta.model_copy(update={"command_id": f"{meta.command_id}:open"}),
                policy=self._policy_ref(system_id),
            ),
        )
        recert = opened.system.recertification
        assert recert is not None and recert.request_id is not None
        attested = "attested: " + "; ".join(CHECKLIST)
        text = f"{attested}. {comment}".strip() if approve else comment
        decision = DecisionCommand(principal=meta.principal, approve=approve, comment=text, via=via)
        return await self.decide(recert.request_id, meta, decision)

    async def request_exception(
        self, system_id: str, meta: CommandMeta, gap: str, until: datetime, reason: str
    ) -> CommandResult:
        """Ask security to waive one gap until `until`."""
        command = GrantExceptionCommand(
            meta=meta,
            policy=self._policy_ref(system_id),
            gap=gap,
            until=until if until.tzinfo else until.replace(tzinfo=UTC),
            reason=reason,
            shared_credentials=await self._sharing(system_id),
        )
        return await self._command(system_id, AISystemWorkflow.request_exception, command)

    async def revoke_exception(
        self, system_id: str, ref: str, meta: CommandMeta, reason: str, as_admin: bool
    ) -> CommandResult:
        """End a pending or active exception now."""
        command = RevokeExceptionCommand(meta=meta, exception=ref, reason=reason, as_admin=as_admin)
        return await self._command(system_id, AISystemWorkflow.revoke_exception, command)

    async def apply_policy(self, meta: CommandMeta) -> tuple[str, dict[str, str]]:
        """Send the current policy file to every system not retired (moves their timers)."""
        policy = load_policy(self.settings)
        with Session(self.engine) as session:
            rows, _ = list_systems(session, limit=100_000)
        outcome: dict[str, str] = {}
        for row in rows:
            if row.state == LifecycleState.retired.value:
                continue
            command = PolicyCommand(
                meta=meta.model_copy(update={"command_id": f"{meta.command_id}:{row.id}"}),
                policy=PolicyRef.full(policy),
            )
            try:
                result = await self._command(row.id, AISystemWorkflow.apply_policy, command)
                outcome[row.id] = result.message
            except GovernanceError as error:
                outcome[row.id] = f"not applied: {error.message}"
        return policy.version, outcome

    # ----- scope-change events -------------------------------------------------------------

    async def apply_event(self, event: ScopeEvent, principal: str) -> CommandResult:
        """Apply one scope-change event; its `source#id` makes a re-sent event a no-op.

        One database read (which systems share the system's or the event's credentials, from
        the projection, in one statement that takes no write lock) and one update: an unknown
        system is the update's not-found.
        """
        shared = system_sharing(
            self.engine, system_id=event.subject, credential_ids=sorted(_event_credentials(event))
        )
        meta = CommandMeta(command_id=event_command_id(event), principal=principal)
        command = ChangeCommand(
            meta=meta,
            event=event,
            policy=self._policy_ref(event.subject),
            shared_credentials=shared,
        )
        # A fresh update id per delivery: the workflow's own dedup (by event) then answers a
        # re-sent event with `duplicate`, where Temporal would silently repeat the first answer.
        return await self._command(
            event.subject, AISystemWorkflow.apply_change, command, update_id=uuid.uuid4().hex
        )

    # ----- credentials, containment, actions -----------------------------------------------

    async def credential_change(
        self, system_id: str, change: CredentialChange, meta: CommandMeta
    ) -> CommandResult:
        """A credential added, rotated or revoked: a credential-change event, applied as one.

        On a pilot it amends the manifest; on a production system it is a scope change
        (a new or widened credential opens revalidation). The idempotency key is the event id.
        """
        event = ScopeEvent(
            id=meta.command_id,
            source=f"/threshold/credentials/{meta.principal}",
            type=EventType.credential_changed,
            subject=system_id,
            time=utcnow(),
            change=change,
        )
        return await self.apply_event(event, meta.principal)

    async def contain(self, system_id: str, meta: CommandMeta, reason: str) -> CommandResult:
        """Contain a system at once."""
        command = ContainCommand(meta=meta, reason=reason, policy=self._policy_ref(system_id))
        return await self._command(system_id, AISystemWorkflow.contain, command)

    async def release(self, system_id: str, meta: CommandMeta, comment: str) -> CommandResult:
        """Open the release request of a contained system."""
        command = ReleaseCommand(meta=meta, policy=self._policy_ref(system_id), comment=comment)
        return await self._command(system_id, AISystemWorkflow.release, command)

    async def ingest_actions(
        self, records: list[ActionRecord], *, tell: bool = True
    ) -> IngestResult:
        """Check, chain and store action records; tell each system of its first findings.

        `tell=False` (authorize decisions: the action was asked about, not taken) stores the
        findings without telling the system's workflow."""
        try:
            result = await asyncio.to_thread(ingest_actions, self.engine, records, self.scopes)
        except UnknownSystems as exc:
            raise NotFound(
                f"unknown system(s): {', '.join(exc.systems)}",
                [Problem("system", f"{s} is not registered") for s in exc.systems],
            ) from None
        if tell and result.first_findings:
            policy = PolicyRef.full(load_policy(self.settings))
            for finding in result.first_findings:
                signal = ActionFindingSignal(
                    policy=policy, **finding.model_dump(exclude={"system_id"})
                )
                handle = self.client.get_workflow_handle(
                    system_workflow_id(finding.system_id, self.prefix)
                )
                try:
                    await handle.signal(AISystemWorkflow.action_finding, signal)
                except RPCError as exc:  # retired: the finding stays stored
                    if exc.status != RPCStatusCode.NOT_FOUND:
                        raise
        return result

    async def gate_declared(self, system_id: str, environment: Environment) -> GateResult:
        """The deploy gate for the system's declared scope (the repository's manifest)."""
        workflow_id = system_workflow_id(system_id, self.prefix)
        result: GateResult = await self._query(
            workflow_id, AISystemWorkflow.gate_declared, environment
        )
        return result


def event_command_id(event: ScopeEvent) -> str:
    """The update id of an event: `event:<source>#<id>`, hashed when too long for an id."""
    key = f"event:{event_key(event)}"
    return key if len(key) <= 200 else "event:" + hashlib.sha256(key.encode()).hexdigest()


def _event_credentials(event: ScopeEvent) -> set[str]:
    """Credential ids an event brings in (so sharing with other systems is checked)."""
    change = event.change
    if isinstance(change, CredentialChange) and change.credential is not None:
        return {change.credential.id}
    if isinstance(change, ManifestDeclared):
        return {c.id for c in change.manifest.credentials}
    return set()
