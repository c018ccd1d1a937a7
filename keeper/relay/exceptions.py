"""Errors of the relay client, the local relay and the inclusion tracker.

Each builds its message from typed arguments and keeps them as attributes (see
:mod:`keeper.exceptions`).
"""

from __future__ import annotations

from collections.abc import Mapping

from keeper.exceptions import KeeperError


class RelayError(KeeperError):
    """Root of every relay-related error."""


class InvalidBundleError(RelayError):
    """A bundle or request argument is malformed; ``field`` names the offending input."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"bundle field '{field}': {problem}")


class BundleTooLargeError(InvalidBundleError):
    """A bundle exceeds the relay's limits (100 transactions, 300,000 bytes)."""

    def __init__(self, field: str, actual: int, limit: int, unit: str) -> None:
        self.actual = actual
        self.limit = limit
        super().__init__(field, f"{actual} {unit}, the relay accepts at most {limit}")


class SignatureError(RelayError):
    """An ``X-Flashbots-Signature`` header is missing, malformed or does not match the body."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"X-Flashbots-Signature: {problem}")


class RelayRpcError(RelayError):
    """The relay answered with a JSON-RPC error object (or a legacy ``{"error": text}``)."""

    def __init__(
        self, url: str, method: str, code: int | None, message: str, http_status: int = 200
    ) -> None:
        self.url = url
        self.method = method
        self.code = code
        self.message = message
        self.http_status = http_status
        shown = f"{code} " if code is not None else ""
        super().__init__(f"{method} at {url}: relay error {shown}'{message}' (HTTP {http_status})")


class RelayAuthError(RelayRpcError):
    """The relay refused the request's signature (HTTP 401/403 or a signature message)."""


class RelayHttpError(RelayError):
    """The relay answered with an HTTP status and a body that is not JSON-RPC."""

    def __init__(self, url: str, method: str, status: int, body: str) -> None:
        self.url = url
        self.method = method
        self.status = status
        self.body = body
        super().__init__(f"{method} at {url}: HTTP {status}: {body[:200]!r}")


class RelayUnavailableError(RelayError):
    """Timeouts, connection failures or 5xx answers persisted through every retry."""

    def __init__(self, url: str, method: str, attempts: int, last_problem: str) -> None:
        self.url = url
        self.method = method
        self.attempts = attempts
        self.last_problem = last_problem
        super().__init__(
            f"{method} at {url}: unavailable after {attempts} attempts: {last_problem}"
        )


class RelayResponseError(RelayError):
    """The relay's answer does not match the documented wire format."""

    def __init__(self, url: str, method: str, problem: str) -> None:
        self.url = url
        self.method = method
        self.problem = problem
        super().__init__(f"{method} at {url}: unexpected response: {problem}")


class NoRelayAcceptedError(RelayError):
    """A request sent to several relays/builders failed at every one of them."""

    def __init__(self, method: str, errors: Mapping[str, RelayError]) -> None:
        self.method = method
        self.errors = dict(errors)
        detail = "; ".join(f"{url}: {err}" for url, err in self.errors.items())
        super().__init__(f"{method}: no relay accepted it ({detail})")


class UpstreamError(RelayError):
    """The local relay's upstream node (anvil) failed a call."""

    def __init__(self, method: str, problem: str) -> None:
        self.method = method
        self.problem = problem
        super().__init__(f"upstream {method}: {problem}")


class RelayBuildError(RelayError):
    """The local relay could not build a block as intended (broken invariant: stop)."""

    def __init__(self, block: int, problem: str) -> None:
        self.block = block
        self.problem = problem
        super().__init__(f"building block {block}: {problem}")
