"""Secured front doors for the dev server: a TLS-terminating TCP proxy and an API-key gRPC proxy.

Both stand where a real cluster's load balancer or Temporal Cloud's edge would: the client speaks
TLS (and mTLS, or an API key) to the proxy, the proxy forwards to the plain dev server.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
import trustme

BUFFER = 64 * 1024


def server_context(ca: trustme.CA, name: str, *, client_ca: trustme.CA | None) -> ssl.SSLContext:
    """A server TLS context for `name` speaking HTTP/2; with `client_ca`, client certs required."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    context.set_alpn_protocols(["h2"])
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        client_ca.configure_trust(context)
    return context


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes until the reader ends, then close the writer."""
    try:
        while data := await reader.read(BUFFER):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


@asynccontextmanager
async def tls_proxy(upstream: str, context: ssl.SSLContext) -> AsyncIterator[str]:
    """Terminate TLS on a free port and forward each connection's bytes to `upstream`."""
    host, _, port = upstream.rpartition(":")
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            writer.close()
            return
        for task in (_pipe(reader, up_writer), _pipe(up_reader, writer)):
            tasks.add(asyncio.ensure_future(task))

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    address = server.sockets[0].getsockname()
    try:
        yield f"127.0.0.1:{address[1]}"
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _identity(data: bytes) -> bytes:
    return data


class ApiKeyGate(grpc.GenericRpcHandler):  # type: ignore[misc]
    """Forwards every unary call to the dev server if it carries `authorization: Bearer <key>`."""

    def __init__(self, channel: grpc.aio.Channel, api_key: str) -> None:
        self.channel = channel
        self.expected = f"Bearer {api_key}"
        self.seen: list[str] = []

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method = details.method
        forward = self.channel.unary_unary(
            method, request_serializer=_identity, response_deserializer=_identity
        )

        async def handle(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            metadata = dict(context.invocation_metadata() or ())
            self.seen.append(str(metadata.get("authorization", "")))
            if metadata.get("authorization") != self.expected:
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid API key")
            passed = [(k, v) for k, v in metadata.items() if k != "authorization"]
            try:
                return await forward(request, metadata=passed)  # type: ignore[no-any-return]
            except grpc.aio.AioRpcError as exc:
                await context.abort(exc.code(), exc.details() or "")
                raise

        return grpc.unary_unary_rpc_method_handler(
            handle, request_deserializer=_identity, response_serializer=_identity
        )


@asynccontextmanager
async def api_key_proxy(
    upstream: str, api_key: str, ca: trustme.CA, name: str
) -> AsyncIterator[tuple[str, ApiKeyGate]]:
    """A TLS gRPC server on a free port that checks the API key and forwards to `upstream`."""
    cert = ca.issue_cert(name)
    credentials = grpc.ssl_server_credentials(
        [(cert.private_key_pem.bytes(), cert.cert_chain_pems[0].bytes())]
    )
    channel = grpc.aio.insecure_channel(upstream)
    gate = ApiKeyGate(channel, api_key)
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((gate,))
    port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    try:
        yield f"127.0.0.1:{port}", gate
    finally:
        await server.stop(grace=None)
        await channel.close()
