"""A fault-injecting HTTP proxy on loopback, for the node and the relay the keeper talks to.

``FaultProxy(upstream)`` forwards every POST (JSON-RPC, batches too) to ``upstream`` and answers
with what it got back, except for the requests it chooses to break. The faults are the ones a
keeper meets on the internet, each breaking the answer in its own way:

* ``truncate`` — the status line and a ``Content-Length`` for the whole body, then half the body
  and a closed connection (``requests`` raises ``ChunkedEncodingError``);
* ``bad_json`` — a complete HTTP 200 answer whose body is the first half of the JSON;
* ``drop`` — the connection is closed without an answer (``ConnectionError``);
* ``http_429`` / ``http_500`` / ``http_502`` — that status, with a short text body;
* ``delay`` — the answer is held ``delay_s`` seconds (past the client's timeout), then sent.

Faults come from a seeded random plan (``rate``, ``kinds``) or are forced for the next ``n``
requests (:meth:`force`); ``down`` drops every request (an outage, or a process being
restarted behind the proxy). ``counts`` records what was done. Only loopback: the proxy binds
127.0.0.1 and refuses an upstream that is not on it.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

import requests

from keeper.exceptions import ConfigError

#: headers that belong to one connection, not to the request
_HOP_BY_HOP = {"host", "content-length", "connection", "keep-alive", "transfer-encoding"}
KINDS = ("truncate", "bad_json", "drop", "http_429", "http_500", "http_502", "delay")


class FaultProxy(ThreadingHTTPServer):
    """Start with ``with FaultProxy(url) as proxy:`` (or ``start()``/``stop()``); ``url``.

    Args:
        upstream: the loopback URL to forward to.
        rate: the share of requests broken by the random plan (0 = none).
        kinds: the faults the random plan draws from.
        delay_s: how long ``delay`` holds an answer.
        seed: the random plan's seed (a run can be repeated).
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        upstream: str,
        rate: float = 0.0,
        kinds: Sequence[str] = KINDS,
        delay_s: float = 3.0,
        seed: int = 0,
        port: int = 0,
    ) -> None:
        if urlparse(upstream).hostname not in ("127.0.0.1", "localhost"):
            raise ConfigError("upstream", f"{upstream} is not on loopback")
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ConfigError("kinds", f"unknown faults {sorted(unknown)}; known: {KINDS}")
        self.upstream = upstream
        self.rate = rate
        self.kinds = tuple(kinds)
        self.delay_s = delay_s
        self.down = False
        self.counts: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._forced: list[str] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        self._thread: threading.Thread | None = None
        super().__init__(("127.0.0.1", port), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def force(self, kind: str, n: int = 1) -> None:
        """Break the next ``n`` requests with ``kind``."""
        if kind not in KINDS:
            raise ConfigError("kind", f"unknown fault {kind!r}; known: {KINDS}")
        with self._lock:
            self._forced.extend([kind] * n)

    def clear(self) -> None:
        """No more faults: forced ones are forgotten, the random plan stops, ``down`` ends."""
        with self._lock:
            self._forced.clear()
            self.rate = 0.0
            self.down = False

    def choose(self) -> str | None:
        """The fault for the next request (None: forward it untouched)."""
        with self._lock:
            self.counts["requests"] += 1
            if self.down:
                kind: str | None = "drop"
            elif self._forced:
                kind = self._forced.pop(0)
            elif self.rate and self._random.random() < self.rate:
                kind = self._random.choice(self.kinds)
            else:
                kind = None
            if kind is not None:
                self.counts[kind] += 1
            return kind

    def forward(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """POST ``body`` upstream with the client's headers (``X-Flashbots-Signature`` too)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        answer = session.post(self.upstream, data=body, headers=headers, timeout=120)
        return answer.status_code, answer.content

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up on a held answer (its timeout) is the point of ``delay``."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    server: FaultProxy

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _drop(self) -> None:
        # Closed without a word: the client sees the connection end before any status line.
        self.close_connection = True
        with suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, status: int, payload: bytes, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload) if length is None else length))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        proxy = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        kind = proxy.choose()
        if kind == "drop":
            return self._drop()
        if kind is not None and kind.startswith("http_"):
            return self._send(int(kind[5:]), f"injected HTTP {kind[5:]}".encode())
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            status, payload = proxy.forward(body, headers)
        except requests.RequestException:  # the upstream itself is down: so is the proxy
            return self._drop()
        if kind == "delay":
            time.sleep(proxy.delay_s)
        elif kind == "truncate":
            self._send(status, payload[: len(payload) // 2], length=len(payload))
            return self._drop()
        elif kind == "bad_json":
            return self._send(status, payload[: len(payload) // 2])
        self._send(status, payload)
