"""Prometheus metrics of the keeper, served on loopback.

Each keeper has its own registry (several keepers, or tests, can run in one process).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

#: seconds; cycle latency targets are 0.15 s (100 pending) and 1 s (1,000 pending)
CYCLE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)


@dataclass
class MetricsServer:
    server: Any
    thread: Any
    host: str

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class KeeperMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.blocks = Counter(
            "keeper_blocks_processed", "Blocks the keeper ran a cycle for", registry=r
        )
        self.intents = Gauge(
            "keeper_intents", "Intents in the store by state", ["state"], registry=r
        )
        self.intake = Counter(
            "keeper_intake",
            "Submitted intents by outcome (accepted or error code)",
            ["outcome"],
            registry=r,
        )
        self.bundles = Counter(
            "keeper_bundles",
            "Bundles by outcome (submitted, included, missed, refused)",
            ["outcome"],
            registry=r,
        )
        self.cycle_seconds = Histogram(
            "keeper_cycle_seconds",
            "Duration of one block's cycle, every stage (bookkeeping after the send included)",
            buckets=CYCLE_BUCKETS,
            registry=r,
        )
        self.bundle_seconds = Histogram(
            "keeper_block_to_bundle_seconds",
            "From the start of a new head's cycle to the relay's answer to eth_sendBundle "
            "(cycles that send a bundle)",
            buckets=CYCLE_BUCKETS,
            registry=r,
        )
        self.failures = Counter(
            "keeper_cycle_failures", "Failed cycles by kind", ["kind"], registry=r
        )
        self.refunds_received = Counter(
            "keeper_refunds_received_wei",
            "Builder refunds reported for this keeper's bundles (wei)",
            registry=r,
        )
        self.refunds_passed_on = Counter(
            "keeper_refunds_passed_on_wei",
            "Refunds given back to users (wei) by kind: fee_credit, payout",
            ["kind"],
            registry=r,
        )
        self.inclusion_blocks = Histogram(
            "keeper_bundle_inclusion_blocks",
            "Blocks from a settlement bundle's first submission to its inclusion",
            buckets=(1, 2, 3, 4, 5, 8, 13, 25),
            registry=r,
        )
        self.halted = Gauge("keeper_halted", "1 when the circuit breaker is open", registry=r)
        self.paper_mode = Gauge("keeper_paper_mode", "1 in paper mode (never sends)", registry=r)

    def set_states(self, counts: Mapping[Any, int]) -> None:
        for state, count in counts.items():
            self.intents.labels(state=str(state)).set(count)

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> MetricsServer:
        from prometheus_client import start_http_server

        server, thread = start_http_server(port, addr=host, registry=self.registry)
        return MetricsServer(server=server, thread=thread, host=host)
