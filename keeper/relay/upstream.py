"""A minimal JSON-RPC client for the local relay's upstream node (anvil).

The local relay talks to anvil with raw JSON-RPC (no web3 middleware), so what it forwards and
what it builds are exactly what anvil said.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import requests

from keeper.relay.exceptions import UpstreamError


class UpstreamRpcError(UpstreamError):
    """anvil answered with a JSON-RPC error; ``code`` and ``message`` are anvil's."""

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        self.code = code
        self.message = message
        self.data = data
        super().__init__(method, f"{code} {message}")


class Upstream:
    """JSON-RPC calls to ``url`` (thread-safe; one HTTP session per thread)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def request(self, method: str, params: list[Any]) -> dict[str, Any]:
        """The raw JSON-RPC response object (``result`` or ``error``)."""
        payload = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        try:
            reply = self._session().post(self.url, json=payload, timeout=self.timeout)
            data: dict[str, Any] = reply.json()
        except (requests.RequestException, ValueError) as err:
            raise UpstreamError(method, f"{type(err).__name__}: {err}") from err
        return data

    def request_batch(self, calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """One JSON-RPC batch: the raw response object of each call, in order."""
        payload = [  # ids only need to be unique within one batch
            {"jsonrpc": "2.0", "id": k, "method": method, "params": params}
            for k, (method, params) in enumerate(calls)
        ]
        try:
            reply = self._session().post(self.url, json=payload, timeout=self.timeout)
            data = reply.json()
        except (requests.RequestException, ValueError) as err:
            raise UpstreamError("batch", f"{type(err).__name__}: {err}") from err
        if not isinstance(data, list):
            raise UpstreamError("batch", f"answered {str(data)[:160]!r}, not a batch")
        by_id = {item.get("id"): item for item in data if isinstance(item, dict)}
        missing = {"error": {"code": -32603, "message": "no answer in the upstream batch"}}
        return [by_id.get(k, missing) for k in range(len(calls))]

    def call(self, method: str, *params: Any) -> Any:
        """The ``result``; raises :class:`UpstreamRpcError` for a JSON-RPC error."""
        data = self.request(method, list(params))
        if data.get("error"):
            err = data["error"]
            raise UpstreamRpcError(method, int(err.get("code", 0)), str(err.get("message")))
        return data.get("result")

    def head(self) -> dict[str, Any]:
        block: dict[str, Any] = self.call("eth_getBlockByNumber", "latest", False)
        return block
