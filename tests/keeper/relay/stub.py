"""A scripted relay on loopback (real HTTP) that replays recorded answers and keeps requests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int
    body: Any  # JSON-able, or str sent verbatim
    delay: float = 0.0


@dataclass
class Seen:
    body: bytes
    signature: str | None


@dataclass
class StubRelay:
    """Answers requests with ``replies`` in order (the last one repeats)."""

    replies: list[Reply]
    seen: list[Seen] = field(default_factory=list)
    responder: Callable[[dict[str, Any]], Reply] | None = None

    def __post_init__(self) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stub.seen.append(Seen(body, self.headers.get("X-Flashbots-Signature")))
                reply = stub.next_reply(json.loads(body))
                time.sleep(reply.delay)
                text = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                payload = text.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def next_reply(self, request: dict[str, Any]) -> Reply:
        if self.responder is not None:
            return self.responder(request)
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
