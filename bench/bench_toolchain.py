"""Toolchain figures: anvil start-up time (fresh node, until it answers JSON-RPC)."""

from __future__ import annotations

import statistics
import time

from keeper.chain.anvil import AnvilProcess


def run() -> None:
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        with AnvilProcess():
            samples.append(time.perf_counter() - started)
    print(f"anvil start-up to first RPC answer: median {statistics.median(samples) * 1000:.0f} ms")
