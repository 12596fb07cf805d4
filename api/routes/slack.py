"""Slack interactivity: signed button clicks and modal submissions decide approval requests."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from slack_sdk.signature import SignatureVerifier

from api.errors import error_body
from api.service import GovernanceService
from domain.approvals import DecisionCommand, choose_role
from domain.contracts import CommandMeta
from domain.errors import GovernanceError
from integrations.slack import ApprovalMessenger, SlackPermanentError
from integrations.slack_blocks import (
    APPROVE_ACTION,
    REASON_BLOCK,
    REASON_INPUT,
    REJECT_ACTION,
    REJECT_CALLBACK,
    reject_modal,
)

router = APIRouter(tags=["slack"])


class SlackGateway:
    """What the interactivity endpoint needs: the signing secret and a Slack client."""

    def __init__(self, signing_secret: str, messenger: ApprovalMessenger) -> None:
        self.verifier = SignatureVerifier(signing_secret)
        self.messenger = messenger

    def authentic(self, body: bytes, headers: Any) -> bool:
        """Signature valid and timestamp within five minutes (replays are refused)."""
        timestamp = headers.get("X-Slack-Request-Timestamp")
        signature = headers.get("X-Slack-Signature")
        if not timestamp or not signature:
            return False
        return self.verifier.is_valid(body=body, timestamp=timestamp, signature=signature)


def _unauthorised(message: str) -> JSONResponse:
    return JSONResponse(error_body(message), status_code=401)


@router.post("/slack/interactions", include_in_schema=False)
async def interactions(request: Request, background: BackgroundTasks) -> Response:
    """Entry point for Slack's interactivity requests (must answer within 3 seconds)."""
    gateway: SlackGateway | None = request.app.state.slack
    if gateway is None:
        return JSONResponse(error_body("Slack is not configured on this server"), status_code=404)
    body = await request.body()
    if not gateway.authentic(body, request.headers):
        return _unauthorised("invalid or stale Slack signature")
    try:
        payload = json.loads(parse_qs(body.decode())["payload"][0])
    except (KeyError, IndexError, ValueError, UnicodeDecodeError):
        return JSONResponse(error_body("no interaction payload"), status_code=400)
    service: GovernanceService = request.app.state.service
    handler = Interaction(gateway, service, payload, background)
    if payload.get("type") == "block_actions":
        return await handler.on_click()
    if payload.get("type") == "view_submission":
        return await handler.on_reject_reason()
    return Response(status_code=200)


class Interaction:
    """One Slack interaction, mapped to a principal and applied through the governance service."""

    def __init__(
        self,
        gateway: SlackGateway,
        service: GovernanceService,
        payload: dict[str, Any],
        background: BackgroundTasks,
    ) -> None:
        self.gateway = gateway
        self.service = service
        self.payload = payload
        self.background = background
        self.user_id = str(payload.get("user", {}).get("id", ""))
        channel = payload.get("container", {}).get("channel_id") or payload.get("channel", {})
        self.channel = channel.get("id", "") if isinstance(channel, dict) else str(channel)

    def tell(self, text: str, channel: str | None = None) -> None:
        """Show the clicking user an ephemeral note, after the response is sent."""
        target = channel or self.channel
        if target:
            self.background.add_task(self._ephemeral, target, text)

    def _ephemeral(self, channel: str, text: str) -> None:
        try:
            self.gateway.messenger.post_ephemeral(channel, self.user_id, text)
        except Exception:
            return

    async def principal(self) -> str | None:
        """The Threshold principal (e-mail) behind the Slack user."""
        try:
            return await run_in_threadpool(self.gateway.messenger.user_email, self.user_id)
        except SlackPermanentError:
            return None

    async def on_click(self) -> Response:
        """Approve at once; Reject opens a modal asking why."""
        action = (self.payload.get("actions") or [{}])[0]
        request_id = str(action.get("value", ""))
        email = await self.principal()
        if email is None:
            self.tell("Threshold cannot see your Slack e-mail address, so it cannot map you.")
            return Response(status_code=200)
        if action.get("action_id") == APPROVE_ACTION:
            command_id = f"slack:{action.get('action_ts') or self.payload.get('trigger_id')}"
            await self._decide(request_id, email, True, "", command_id)
        elif action.get("action_id") == REJECT_ACTION:
            await self._ask_reason(request_id, email)
        return Response(status_code=200)

    async def _decide(
        self, request_id: str, email: str, approve: bool, comment: str, command_id: str
    ) -> str | None:
        decision = DecisionCommand(principal=email, approve=approve, comment=comment, via="slack")
        try:
            result = await self.service.decide(
                request_id, CommandMeta(command_id=command_id, principal=email), decision
            )
        except GovernanceError as refused:
            self.tell(f"Not recorded: {refused.message}")
            return refused.message
        if result.duplicate:  # a second click: the first one counted
            self.tell(f"Not recorded again: you already decided ({result.message})")
        return None

    async def _ask_reason(self, request_id: str, email: str) -> None:
        try:
            current = await self.service.request(request_id)
            choose_role(current, DecisionCommand(principal=email, approve=False, comment="-"))
        except GovernanceError as refused:
            self.tell(f"Not recorded: {refused.message}")
            return
        origin = {"channel": self.channel}
        trigger = str(self.payload.get("trigger_id", ""))
        await run_in_threadpool(
            self.gateway.messenger.open_view, trigger, reject_modal(request_id, origin)
        )

    async def on_reject_reason(self) -> Response:
        """The reason modal was submitted: reject, or show why not inside the modal."""
        view = self.payload.get("view", {})
        if view.get("callback_id") != REJECT_CALLBACK:
            return Response(status_code=200)
        meta = json.loads(view.get("private_metadata") or "{}")
        values = view.get("state", {}).get("values", {})
        reason = str(values.get(REASON_BLOCK, {}).get(REASON_INPUT, {}).get("value") or "").strip()
        email = await self.principal()
        if email is None:
            return _modal_error("Threshold cannot see your Slack e-mail address.")
        if not reason:
            return _modal_error("Say why you reject the request.")
        command_id = f"slack-view:{view.get('id')}:{view.get('hash', '')}"
        problem = await self._decide(
            str(meta.get("request_id", "")), email, False, reason, command_id
        )
        return _modal_error(problem) if problem else Response(status_code=200)


def _modal_error(message: str) -> JSONResponse:
    return JSONResponse({"response_action": "errors", "errors": {REASON_BLOCK: message[:150]}})
