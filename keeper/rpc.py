"""Transient JSON-RPC failures: the error type, and retries with a short backoff."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from keeper.exceptions import KeeperError


class RpcError(KeeperError):
    """The node did not answer a JSON-RPC request (a transient failure)."""

    def __init__(self, method: str, problem: str) -> None:
        self.method = method
        self.problem = problem
        super().__init__(f"rpc {method}: {problem}")


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
