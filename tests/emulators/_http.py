"""A local HTTP server in a background thread that emulators build on."""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    """One HTTP request as the emulator received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """Return a header value, matching the name case-insensitively."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    def json(self) -> Any:
        """Return the body parsed as JSON, or None when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


@dataclass
class Response:
    """What the emulator answers: status, JSON (or raw) body, extra headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        """Return the body as bytes (JSON unless it already is bytes)."""
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


@dataclass
class Fault:
    """A planned failure: the status to answer with and how many more times."""

    target: str
    status: int
    remaining: int
    retry_after: float | None = None


class FaultPlan:
    """Thread-safe queue of planned failures, matched by exact name or by prefix."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, target: str, status: int, times: int, retry_after: float | None) -> None:
        """Plan `times` failures with `status` for `target`."""
        with self._lock:
            self._faults.append(Fault(target, status, times, retry_after))

    def take(self, name: str, *, prefix: bool = False) -> Fault | None:
        """Consume one planned failure matching `name`, if any."""
        with self._lock:
            for fault in self._faults:
                hit = name.startswith(fault.target) if prefix else name == fault.target
                if hit and fault.remaining > 0:
                    fault.remaining -= 1
                    return fault
            return None


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """Read a request body sized by Content-Length or sent chunked."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while size := int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        handler.rfile.readline()
        return b"".join(chunks)
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _handler_class(dispatch: Callable[[Request], Response]) -> type[BaseHTTPRequestHandler]:
    """Build a request handler class that sends every request to `dispatch`."""

    class Handler(BaseHTTPRequestHandler):
        timeout = 10

        def _serve(self) -> None:
            url = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=url.path,
                query=parse_qs(url.query, keep_blank_values=True),
                headers=dict(self.headers.items()),
                body=_read_body(self),
            )
            try:
                response = dispatch(request)
            except Exception as exc:  # an emulator bug must not look like a hung server
                traceback.print_exc()
                text = f"emulator error: {exc!r}".encode()
                response = Response(500, text, {"Content-Type": "text/plain; charset=utf-8"})
            payload = response.encoded()
            self.send_response(response.status)
            if payload and "Content-Type" not in response.headers:
                self.send_header("Content-Type", "application/json;charset=utf-8")
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Stay quiet: tests read recorded calls instead of access logs."""

    return Handler


class LocalServer:
    """Runs `handle` behind a ThreadingHTTPServer on 127.0.0.1 and a free port."""

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def handle(self, request: Request) -> Response:
        """Answer one request; emulators override this."""
        raise NotImplementedError

    @property
    def port(self) -> int:
        """Return the port the server listens on (it must be started)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return int(self._server.server_address[1])

    def start(self) -> Self:
        """Bind a free port and serve in a background thread."""
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self.handle))
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join()
            self._server, self._thread = None, None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
