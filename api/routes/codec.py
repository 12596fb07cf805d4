"""The Temporal codec server protocol: `POST /codec/encode` and `POST /codec/decode`.

The Temporal UI and `temporal workflow show --codec-endpoint` send `{"payloads": [...]}`
(protobuf `Payloads` as JSON, data base64) and show what comes back, so operators can read
encrypted histories. Decoding reveals every manifest, e-mail and reason in a history, so both
routes need an **admin** token: `Authorization: Bearer <token>`, or the dashboard's session
cookie (the UI's "include cross-origin credentials" sends it when the UI and the API share a
site). Cross-origin calls are allowed only from `THRESHOLD_TEMPORAL__CODEC_CORS_ORIGINS`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payloads

from api.auth import ADMINS, Principal
from api.dashboard import session
from api.deps import SettingsDep, _principal
from api.openapi import errors
from core.codec import CodecError, EncryptionCodec, codec_from_keys
from core.settings import Settings

router = APIRouter(prefix="/codec", tags=["codec"])
PREFIX = "/codec/"


class CodecCors:
    """CORS for the codec routes only, from the configured Temporal UI origins."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=settings.temporal.cors_origins,
            allow_methods=["POST"],
            allow_headers=["authorization", "content-type", "x-namespace"],
            allow_credentials=True,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def _admin(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """An admin bearer token, or a dashboard session of an admin; else 401/403."""
    if authorization:
        principal: Principal = await _principal(request, authorization)
    else:
        signed_in = await asyncio.to_thread(session.current, request)
        if signed_in is None:
            await _principal(request, None)  # raises the usual 401
            return
        principal = signed_in.principal
    if principal.role not in ADMINS:
        raise HTTPException(
            403,
            f"decoding histories needs an admin token; {principal.email}'s token has role "
            f"{principal.role.value}",
        )


def _codec(settings: Settings) -> EncryptionCodec:
    """The configured codec, or 404 saying how to turn encryption on."""
    keys = settings.temporal.encryption_keys
    codec = codec_from_keys(keys.get_secret_value() if keys else None)
    if codec is None:
        raise HTTPException(
            404,
            "payload encryption is off: set THRESHOLD_TEMPORAL__ENCRYPTION_KEYS to use the codec",
        )
    return codec


def _payloads(body: dict[str, Any]) -> Payloads:
    """The request body as protobuf `Payloads`, or 400 naming the field."""
    try:
        return json_format.ParseDict(body, Payloads())
    except json_format.ParseError as exc:
        raise HTTPException(400, f"payloads: not protobuf Payloads JSON ({exc})") from None


PayloadsBody = Annotated[
    dict[str, Any],
    Body(examples=[{"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "e30="}]}]),
]


@router.post(
    "/encode",
    dependencies=[Depends(_admin)],
    operation_id="encodePayloads",
    summary="Encrypt payloads (codec server)",
    responses=errors(400, 401, 403, 404, 422),
)
async def encode(body: PayloadsBody, settings: SettingsDep) -> JSONResponse:
    """Payloads encrypted with the current key."""
    codec = _codec(settings)
    encoded = await codec.encode(list(_payloads(body).payloads))
    return JSONResponse(json_format.MessageToDict(Payloads(payloads=encoded)))


@router.post(
    "/decode",
    dependencies=[Depends(_admin)],
    operation_id="decodePayloads",
    summary="Decrypt payloads (codec server)",
    responses=errors(400, 401, 403, 404, 422),
)
async def decode(body: PayloadsBody, settings: SettingsDep) -> JSONResponse:
    """Payloads decrypted with the key each names; unencrypted ones unchanged."""
    codec = _codec(settings)
    try:
        decoded = await codec.decode(list(_payloads(body).payloads))
    except CodecError as exc:
        raise HTTPException(400, f"payloads: {exc}") from None
    return JSONResponse(json_format.MessageToDict(Payloads(payloads=decoded)))
