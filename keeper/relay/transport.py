"""Signed JSON-RPC over HTTP to one relay or builder endpoint, with retries.

Retries (exponential backoff) cover what a later attempt can fix: timeouts, refused or dropped
connections, a body cut short, a success status whose body is not JSON, HTTP 5xx and 429. A
JSON-RPC error or any other HTTP 4xx is the relay's answer and is raised at once as a typed
error. The body is serialised once and those exact bytes are signed and sent.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any

import requests
from pydantic import ValidationError

from keeper.relay.constants import SIGNATURE_HEADER
from keeper.relay.exceptions import (
    RelayAuthError,
    RelayHttpError,
    RelayResponseError,
    RelayRpcError,
    RelayUnavailableError,
)
from keeper.relay.models import JsonRpcResponse, LegacyErrorBody
from keeper.relay.signing import MessageSigner, sign_body

_ids = itertools.count(1)


def encode_request(method: str, params: list[Any], request_id: int) -> bytes:
    """Compact UTF-8 JSON (non-ASCII kept as UTF-8: the signature covers these exact bytes)."""
    payload = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


_AUTH_PHRASES = ("signature check", "signature is required", "flashbots-signature", "signer")


SignedRequest = tuple[bytes, str]


def prepare(method: str, params: list[Any], signer: MessageSigner) -> SignedRequest:
    """The request body and its ``X-Flashbots-Signature`` header value."""
    body = encode_request(method, params, next(_ids))
    return body, sign_body(body, signer)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _is_auth_failure(status: int, message: str) -> bool:
    text = message.lower()
    return status in (401, 403) or any(phrase in text for phrase in _AUTH_PHRASES)


def parse_response(url: str, method: str, status: int, text: str) -> Any:
    """The ``result`` of a relay answer, or the typed error it carries."""
    try:
        data = json.loads(text)
    except ValueError:
        raise RelayHttpError(url, method, status, text) from None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        legacy = LegacyErrorBody.model_validate(data)
        error_cls = RelayAuthError if _is_auth_failure(status, legacy.error) else RelayRpcError
        raise error_cls(url, method, None, legacy.error, status)
    try:
        response = JsonRpcResponse.model_validate(data)
    except ValidationError as err:
        raise RelayResponseError(url, method, f"not JSON-RPC: {err.errors()[0]['msg']}") from err
    if response.error is not None:
        err_obj = response.error
        error_cls = RelayAuthError if _is_auth_failure(status, err_obj.message) else RelayRpcError
        raise error_cls(url, method, err_obj.code, err_obj.message, status)
    if status >= 400:
        raise RelayHttpError(url, method, status, text)
    return response.result


class RelayEndpoint:
    """One relay/builder URL.

    Args:
        url: the endpoint (``https://relay.flashbots.net``).
        signer: the reputation key (see :mod:`keeper.relay.signing`).
        timeout: seconds per HTTP attempt.
        retries: extra attempts after the first on timeouts, connection errors, 5xx and 429.
        backoff: seconds before the first retry; doubles each time.
    """

    def __init__(
        self,
        url: str,
        signer: MessageSigner,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.2,
    ) -> None:
        self.url = url
        self.signer = signer
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._local = threading.local()

    def _session(self) -> requests.Session:
        # One session per thread: requests.Session is not documented as thread-safe.
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def call(self, method: str, params: list[Any], prepared: SignedRequest | None = None) -> Any:
        """Send one signed request; return its ``result`` or raise a :class:`RelayError`.

        ``prepared`` (from :func:`prepare`) sends an already signed body, so a fan-out signs once
        and every relay receives the same bytes.
        """
        body, signature = prepared or prepare(method, params, self.signer)
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
        attempts = self.retries + 1
        problem = ""
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                reply = self._session().post(
                    self.url, data=body, headers=headers, timeout=self.timeout
                )
            except requests.Timeout:
                problem = f"timed out after {self.timeout}s"
                continue
            except requests.ConnectionError as err:
                problem = f"connection failed: {type(err).__name__}"
                continue
            except requests.RequestException as err:  # a body cut short (ChunkedEncodingError)
                problem = f"broken answer: {type(err).__name__}"
                continue
            if reply.status_code >= 500 or reply.status_code == 429:
                problem = f"HTTP {reply.status_code}: {reply.text[:160]!r}"
                continue
            if reply.status_code < 400 and not _is_json(reply.text):
                # A success status with a body that does not parse: the answer was cut or
                # garbled on the way, not the relay's word; ask again.
                problem = (
                    f"HTTP {reply.status_code} with a body that is not JSON: {reply.text[:80]!r}"
                )
                continue
            return parse_response(self.url, method, reply.status_code, reply.text)
        raise RelayUnavailableError(self.url, method, attempts, problem)
