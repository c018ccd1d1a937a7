"""The keeper daemon: wiring (settings -> parts) and the block loop with graceful shutdown.

``KeeperDaemon(settings).run()`` connects to the node, reads the deployment (executor and
market), opens the store, takes over claims left by an earlier run, starts the loopback intake
and metrics servers, then runs one pipeline cycle per new block until it is asked to stop
(SIGINT/SIGTERM: the current cycle finishes first), the circuit breaker opens (exit code 2),
or ``max_blocks`` cycles have run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keeper.chain.signer import load_signer
from keeper.config import KeeperSettings
from keeper.daemon.breaker import CircuitBreaker
from keeper.daemon.metrics import KeeperMetrics, MetricsServer
from keeper.daemon.pipeline import Pipeline
from keeper.daemon.simulation import RpcError
from keeper.exceptions import ConfigError
from keeper.intents.intake import IntakeServer, IntakeService
from keeper.intents.store import IntentStore
from keeper.intents.validation import IntentPolicy
from keeper.lifecycle import Service

log = logging.getLogger("keeper.daemon")

EXIT_OK = 0
EXIT_HALTED = 2


@dataclass
class KeeperParts:
    """Everything the loop needs, built from settings (tests build them the same way)."""

    settings: KeeperSettings
    store: IntentStore
    pipeline: Pipeline
    intake: IntakeService
    chain_id: int
    executor: str
    pools: Any = None  # keeper.settlement.pools.PoolSnapshots (its read counters)


def _rpc_url(settings: KeeperSettings) -> str:
    if settings.rpc_url:
        return settings.rpc_url
    from ape import networks

    if networks.active_provider is None:  # not under `ape run`: connect to settings.network
        networks.parse_network_choice(settings.network).__enter__()
    provider = networks.provider
    # ape's node provider wraps web3's AutoProvider (no endpoint_uri): ask ape for its URL
    uri = getattr(provider, "http_uri", None) or getattr(
        provider.web3.provider, "endpoint_uri", None
    )
    if not uri:
        raise ConfigError("rpc_url", f"network {provider.network_choice} has no HTTP endpoint")
    return str(uri)


def relay_targets(settings: KeeperSettings) -> list[Any]:
    """The relay client's endpoints: ``relay.urls`` (plain) and ``relay.builders``."""
    from keeper.relay.client import BuilderTarget
    from keeper.relay.ratelimit import RateLimit

    targets = [BuilderTarget(u) for u in settings.relay.urls]
    for b in settings.relay.builders:
        limit = RateLimit(b.requests, b.window_s, b.connections) if b.requests else None
        targets.append(
            BuilderTarget(
                b.url,
                b.name,
                refunds=b.refunds,
                cancellation=b.cancellation,
                refund_queries=b.refund_queries,
                rate_limit=limit,
            )
        )
    return targets


def build(settings: KeeperSettings, deployments_file: Path | None = None) -> KeeperParts:
    """Wire the keeper from settings. Raises ConfigError naming the missing piece."""
    from web3 import Web3

    from keeper.daemon.chainview import ChainView
    from keeper.daemon.simulation import Simulator
    from keeper.market.deployments import deployments_path, load_deployments
    from keeper.relay import RelayClient
    from keeper.routing import Market as RoutingMarket
    from keeper.routing import Snapshot
    from keeper.routing.exceptions import SnapshotError
    from keeper.routing.state import read_market_snapshot
    from keeper.rpc import quiet_provider, retrying
    from keeper.settlement.abi import executor_abi, executor_errors
    from keeper.settlement.outcome import SettledEvents
    from keeper.settlement.planner import NettingPlanner, describe_prices
    from keeper.settlement.pools import PoolSnapshots, http_batch

    url = _rpc_url(settings)
    # web3's own retries (five, with backoff, inside each of the keeper's) are off: a broken
    # answer is retried by the keeper and counted once.
    web3 = Web3(quiet_provider(url, settings.relay.timeout_s * 2))
    chain_id = int(
        wait_until_up("node", url, lambda: _node_chain_id(web3, url), settings.breaker.max_outage_s)
    )
    if settings.chain_id is not None and settings.chain_id != chain_id:
        raise ConfigError("chain_id", f"node {url} is on chain {chain_id}, not {settings.chain_id}")
    path = deployments_file or deployments_path(chain_id)
    record = load_deployments(path, chain_id)
    executor = settings.executor or (record.executor.address if record.executor else None)
    if executor is None:
        raise ConfigError("executor", f"not set and no executor recorded in {path}")
    if record.market is None:
        raise ConfigError("deployments", f"{path} records no market to route through")
    market = record.market

    account = load_signer(settings.signer) if settings.signer else None
    relay = None
    if account is not None:
        if not settings.relay.urls and not settings.relay.builders:
            raise ConfigError("relay.urls", "a live keeper needs a private relay (no mempool)")
        identity = load_signer(settings.relay.identity) if settings.relay.identity else account
        relay = RelayClient(relay_targets(settings), identity, timeout=settings.relay.timeout_s)
    if account is not None:
        keeper_address = str(account.address)
    elif settings.simulate_as is not None:
        keeper_address = settings.simulate_as
    else:
        raise ConfigError("simulate_as", "paper mode needs the allow-listed keeper to simulate as")

    store = IntentStore(settings.database_url, settings.keeper_id, settings.lease_s)
    chain = ChainView(web3, executor)
    simulator = Simulator(web3, executor, keeper_address, executor_errors())
    prices, decimals = describe_prices(market)
    usd_token = next(
        (
            t.address
            for t in market.tokens
            if settings.usd_token.lower() in (t.symbol.lower(), t.address.lower())
        ),
        None,
    )
    if usd_token is None:
        raise ConfigError(
            "usd_token",
            f"{settings.usd_token!r} is not a token of the market in {path} "
            f"(one of {', '.join(t.symbol for t in market.tokens)})",
        )

    def full_read() -> Snapshot:
        return retrying(lambda: read_market_snapshot(url, market, word_radius=4), (SnapshotError,))

    pools = PoolSnapshots(http_batch(url, timeout=settings.relay.timeout_s * 2), full_read)
    planner = NettingPlanner(
        executor=executor,
        chain_id=chain_id,
        snapshot=lambda: RoutingMarket(full_read()),
        snapshot_at=pools.at,
        usd_prices=prices,
        decimals=decimals,
        swap_router=market.contracts.get("SwapRouter"),
        safety_margin_bps=settings.limits.safety_margin_bps,
        weth=market.contracts.get("WETH9"),
        usd_token=usd_token,
        fee_gas_per_order=settings.fee.gas_per_order,
        fee_markup_bps=settings.fee.markup_bps,
        symbols={t.address: t.symbol for t in market.tokens},
    )
    metrics = KeeperMetrics()
    refunds = None
    if relay is not None and any(t.refund_queries for t in relay.targets):
        from keeper.daemon.refunds import RefundPassing

        refunds = RefundPassing(
            settings, store, chain, relay, metrics, chain_id=chain_id, account=account
        )
        planner.credit_source = refunds.credits
    metrics.paper_mode.set(1 if account is None else 0)
    breaker = CircuitBreaker(
        settings.breaker.failure_budget,
        settings.breaker.window_s,
        max_outage_s=settings.breaker.max_outage_s,
        state_file=settings.data_dir / "breaker.json",
    )
    pipeline = Pipeline(
        settings, store, chain, simulator, planner,
        account=account, relay=relay, metrics=metrics, breaker=breaker,
        events=SettledEvents(executor_abi()), refunds=refunds,
    )  # fmt: skip
    from keeper.daemon.recording import SettlementRecorder, pools_at

    def market_at(block: int) -> RoutingMarket:
        template = pools.snapshot or full_read()
        return pools_at(pools.rpc, template, block)

    pipeline.recorder = SettlementRecorder(
        store,
        SettledEvents(executor_abi()),
        executor,
        market_at=market_at,
        prices=planner.prices,
        block_time=lambda n: int(web3.eth.get_block(n)["timestamp"]),
    )
    pipeline.recorder.on_error = lambda tx, err: metrics.failures.labels(kind="record").inc()
    limits = settings.limits
    policy = IntentPolicy(
        chain_id=chain_id,
        executor=executor,
        keeper=str(account.address) if account is not None else None,
        supported_tokens=settings.supported_tokens or [t.address for t in market.tokens],
        max_legs_per_side=limits.max_legs_per_side,
        max_deadline_horizon_s=limits.max_deadline_horizon_s,
        min_time_to_deadline_s=limits.min_time_to_deadline_s,
    )
    intake = IntakeService(
        store,
        policy,
        chain.state,
        chain_time=lambda: chain.head().timestamp,
        block_number=chain.block_number,
        on_outcome=lambda outcome: _intake_outcome(metrics, breaker, outcome),
    )
    return KeeperParts(settings, store, pipeline, intake, chain_id, executor, pools)


def _intake_outcome(metrics: KeeperMetrics, breaker: CircuitBreaker, outcome: str) -> None:
    metrics.intake.labels(outcome=outcome).inc()
    if outcome == "unavailable":  # a node read of the checks failed: counted, client retries
        breaker.record_failure("intake", "a node read during intake validation failed")


#: start-up and the poll loop back off from this delay, doubling up to the maximum
BACKOFF_S = 0.5
MAX_BACKOFF_S = 10.0


def _node_chain_id(web3: Any, url: str) -> int:
    """The node's chain id; a bundle relay given as the node (it answers only bundle methods,
    so waiting would never help) is a ConfigError at once, not an outage to wait out."""
    from web3.exceptions import Web3RPCError

    from keeper.chain.connect import is_bundle_relay

    try:
        return int(web3.eth.chain_id)
    except Web3RPCError:
        if is_bundle_relay(url):
            raise ConfigError(
                "rpc_url",
                f"{url} is a bundle relay (it answers eth_callBundle, not eth_chainId); "
                "expected an Ethereum node URL (the relay's URL goes in relay.urls)",
            ) from None
        raise


def wait_until_up(
    what: str,
    url: str,
    probe: Any,
    max_wait_s: float,
    stopping: threading.Event | None = None,
) -> Any:
    """``probe()``'s answer, waiting with backoff while ``what`` does not answer (a node being
    restarted) and saying so; after ``max_wait_s`` without an answer, ConfigError."""
    from keeper.rpc import transient_errors

    started = time.monotonic()
    delay = BACKOFF_S
    while True:
        try:
            return probe()
        except transient_errors() as err:
            waited = time.monotonic() - started
            if waited >= max_wait_s:
                raise ConfigError(
                    "rpc_url", f"{url} does not answer after {waited:.0f}s: {err}"
                ) from None
            log.warning(
                "waiting for the %s at %s: %s (retry in %.1fs)", what, url,
                f"{type(err).__name__}: {str(err)[:120]}", delay,
                extra={"dependency": what, "waitedSeconds": round(waited, 1)},
            )  # fmt: skip
            if stopping is None:
                time.sleep(delay)
            elif stopping.wait(delay):
                return None  # asked to stop while waiting
            delay = min(delay * 2, MAX_BACKOFF_S)


class KeeperDaemon:
    """Runs :class:`Pipeline` once per new block. ``stop()`` may be called from any thread."""

    def __init__(self, parts: KeeperParts, services: Sequence[Service] = ()) -> None:
        self.parts = parts
        #: started after the intake and metrics servers, stopped before them (the dashboard)
        self.services = list(services)
        self.stopping = threading.Event()
        self.intake_server: IntakeServer | None = None
        self.metrics_server: MetricsServer | None = None

    def stop(self) -> None:
        self.stopping.set()

    def _start_servers(self) -> None:
        settings, pipeline = self.parts.settings, self.parts.pipeline
        if settings.intake.enabled:
            self.intake_server = IntakeServer(
                self.parts.intake,
                settings.intake.host,
                settings.intake.port,
                health=lambda: {
                    "paper": pipeline.paper,
                    "halted": pipeline.breaker.halted,
                    "chainId": self.parts.chain_id,
                    "executor": self.parts.executor,
                },
            ).start()
            log.info("intake listening", extra={"url": self.intake_server.url})
        if settings.metrics.enabled:
            self.metrics_server = pipeline.metrics.serve(
                settings.metrics.host, settings.metrics.port
            )
            log.info("metrics listening", extra={"url": self.metrics_server.url})
        for service in self.services:
            service.start()
            log.info(
                f"{type(service).__name__} listening", extra={"url": getattr(service, "url", None)}
            )

    def run(self, max_blocks: int | None = None) -> int:
        """Loop until stopped; returns the process exit code."""
        settings, pipeline = self.parts.settings, self.parts.pipeline
        drop_dir = settings.intake.drop_dir
        if drop_dir is not None:
            drop_dir.mkdir(parents=True, exist_ok=True)
        try:
            wait_until_up(
                "node",
                settings.rpc_url or settings.network,
                pipeline.recover,
                settings.breaker.max_outage_s,
                self.stopping,
            )
            self._start_servers()
            freeze_heap()
            log.info(
                "keeper started",
                extra={"paper": pipeline.paper, "executor": self.parts.executor,
                       "chainId": self.parts.chain_id, "keeperId": settings.keeper_id},
            )  # fmt: skip
            last, cycles = -1, 0
            backoff = 0.0  # while the node does not answer: the wait before the next poll
            while not self.stopping.is_set():
                if drop_dir is not None:
                    self._scan(drop_dir)
                try:
                    head = pipeline.chain.head()
                except RpcError as err:
                    pipeline.breaker.record_failure("rpc", str(err))
                    backoff = min(max(backoff * 2, BACKOFF_S), MAX_BACKOFF_S)
                    log.warning(
                        "node unreachable for %.1fs: %s (retry in %.1fs)",
                        pipeline.breaker.outage_seconds("node"), err, backoff,
                        extra={"error": str(err)},
                    )  # fmt: skip
                    head = None
                else:
                    pipeline.breaker.record_success("node")
                    backoff = 0.0
                if head is not None and head.number > last:
                    last = head.number
                    report = pipeline.run_block(head)
                    cycles += 1
                    if report.claimed or report.settled or report.notes or report.retried:
                        log.info("cycle", extra={"report": report.__dict__})
                if pipeline.breaker.halted:
                    log.error("circuit breaker open", extra={"reason": pipeline.breaker.reason})
                    return EXIT_HALTED
                if max_blocks is not None and cycles >= max_blocks:
                    break
                self.stopping.wait(max(settings.poll_interval_s, backoff))
            return EXIT_OK
        finally:
            self.close()

    def _scan(self, drop_dir: Path) -> None:
        for path, outcome in self.parts.intake.scan(drop_dir):
            if not outcome.startswith("0x"):
                log.info("drop file %s: %s", path.name, outcome)

    def close(self) -> None:
        for service in reversed(self.services):
            service.stop()
        if self.intake_server is not None:
            self.intake_server.stop()
            self.intake_server = None
        if self.metrics_server is not None:
            self.metrics_server.stop()
            self.metrics_server = None
        self.parts.pipeline.close()
        if self.parts.pipeline.recorder is not None:
            self.parts.pipeline.recorder.close()  # the last records, before the store closes
        self.parts.store.close()
        log.info("keeper stopped")


def freeze_heap() -> None:
    """Exempt everything alive after start-up (Ape, web3, compiled ABIs: ~200k objects) from
    Python's cyclic garbage collector: a full collection over them takes ~100 ms and would
    land in the middle of a cycle now and then (the block-to-bundle tail). Objects made later
    are collected as usual."""
    import gc

    gc.collect()
    gc.freeze()


def wait_for(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate()`` until true or ``timeout`` seconds pass (tests and the demo)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
