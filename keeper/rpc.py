"""Transient JSON-RPC failures: the error type, and retries with a short backoff."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from keeper.exceptions import KeeperError


class RpcError(KeeperError):
    """The node did not answer a JSON-RPC request (a transient failure)."""

    def __init__(self, method: str, problem: str) -> None:
        self.method = method
        self.problem = problem
        super().__init__(f"rpc {method}: {problem}")


def transient_errors() -> tuple[type[BaseException], ...]:
    """What a broken answer from a node raises through web3 or ``requests``: a dropped or
    truncated connection, a timeout, an HTTP error status (all ``OSError``), a body that is not
    JSON (``ValueError``), a JSON-RPC error or a malformed answer (web3's own errors)."""
    from web3.exceptions import Web3Exception

    return (OSError, ValueError, RpcError, Web3Exception)


def quiet_provider(url: str, timeout: float) -> Any:
    """A web3 ``HTTPProvider`` without web3's own retries: the keeper retries a failed read
    itself (:func:`retrying`) and counts it once; web3's five attempts with backoff inside each
    of the keeper's would make one broken read cost seconds. The chain id is asked once."""
    from web3 import HTTPProvider

    return HTTPProvider(
        url,
        request_kwargs={"timeout": timeout},
        exception_retry_configuration=None,
        # web3 asks eth_chainId twice around every eth_call (validation); a chain's id does not
        # change under a running keeper, and each extra request is one more to break.
        cache_allowed_requests=True,
        cacheable_requests={"eth_chainId"},
    )


T = TypeVar("T")
#: a request that fails is retried this many times (a node hiccup is not a failed cycle)
RETRIES = 2
BACKOFF_S = 0.05


def retrying(
    call: Callable[[], T],
    transient: tuple[type[BaseException], ...] = (OSError, ValueError),
    retries: int = RETRIES,
) -> T:
    """``call()``, retried with a short backoff on ``transient`` errors; the last one raises."""
    for attempt in range(retries):
        try:
            return call()
        except transient:
            time.sleep(BACKOFF_S * (attempt + 1))
    return call()
