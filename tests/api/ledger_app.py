"""The audit routes in a real FastAPI app served by uvicorn over a real database, no Temporal.

The ledger routes read and write only the database, so their tests (and the CLI's) run the
real router, error handlers, token authentication and checkpoint signer over HTTP on
127.0.0.1, and nothing else.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine, text
from sqlmodel import Session

from api import errors
from api.app import API_PREFIX
from api.auth import TokenCache
from api.routes import audit
from api.throttle import Guard
from core.settings import Settings
from core.signing import startup_signer
from db.engine import init_db, make_engine
from db.ledger import append_events
from db.tokens import issue_token
from domain.ledger import GENESIS, entry_hash, hashed_content
from tests.db.conftest import audit_event

ADMIN = "ada.admin@example.com"
VIEWER = "vic.viewer@example.com"


@dataclass
class LedgerApi:
    """A running ledger API: its HTTP client, engine, settings and a token per principal."""

    url: str
    http: httpx.Client
    engine: Engine
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, principal: str, **kwargs: Any) -> Any:
        """Send an authenticated request to `/api/v1<path>` as `principal`."""
        headers = {"Authorization": f"Bearer {self.tokens[principal]}"}
        return self.http.request(method, API_PREFIX + path, headers=headers, **kwargs)


@contextmanager
def ledger_api(database_url: str, data_dir: Path) -> Iterator[LedgerApi]:
    """The audit router on a migrated database, with an admin and a viewer token."""
    settings = Settings(data_dir=data_dir, database_url=database_url)
    engine = make_engine(database_url)
    init_db(engine)
    app = FastAPI()
    errors.install(app)
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(audit.router)
    app.include_router(api)
    app.state.settings = settings
    app.state.engine = engine
    app.state.tokens = TokenCache(engine, 0.0)
    app.state.audit_signer = startup_signer(settings)
    app.state.guard = Guard(settings.api, engine)
    with _served(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        running = LedgerApi(url, http, engine, settings)
        with Session(engine) as session:
            for principal, role in ((ADMIN, "admin"), (VIEWER, "viewer")):
                running.tokens[principal] = issue_token(session, principal=principal, role=role)[1]
            session.commit()
        try:
            yield running
        finally:
            engine.dispose()


@contextmanager
def _served(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn in a background thread on a free port; yield its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn stopped before it started")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def append(engine: Engine, system_id: str, numbers: range) -> None:
    """Append the test events numbered `numbers` to a system's chain."""
    with Session(engine) as session:
        append_events(session, events=[audit_event(system_id, n) for n in numbers])
        session.commit()


def rewrite_chain(engine: Engine, chain_id: str, *, seq: int, actor: str) -> None:
    """The full-rewrite attack: edit one entry, then recompute every later hash and the head."""
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_entries SET actor = :a WHERE chain_id = :c AND seq = :s"),
            {"a": actor, "c": chain_id, "s": seq},
        )
        rows = conn.execute(
            text(
                "SELECT id, seq, at, actor, action, request_id, detail, content_digest"
                " FROM audit_entries WHERE chain_id = :c ORDER BY seq"
            ),
            {"c": chain_id},
        ).all()
        prev = GENESIS
        for row in rows:
            content = hashed_content(row.detail, row.content_digest)
            digest = entry_hash(
                prev,
                chain_id,
                row.seq,
                row.at,
                row.actor,
                row.action,
                row.request_id or "",
                content,
            )
            conn.execute(
                text("UPDATE audit_entries SET prev_hash = :p, hash = :h WHERE id = :i"),
                {"p": prev, "h": digest, "i": row.id},
            )
            prev = digest
        conn.execute(
            text("UPDATE chain_heads SET hash = :h WHERE ledger = 'audit' AND chain_id = :c"),
            {"h": prev, "c": chain_id},
        )
