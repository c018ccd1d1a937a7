"""One keeper cycle per block: follow what is in flight, then batch, plan, simulate, send.

``Pipeline.run_block(head)`` is the whole per-block job:

1. a settlement in flight is followed: included -> ``settled`` (checked against the plan: a
   shortfall trips the circuit breaker); its last target block passed -> each intent is retried
   (``accepted``), or ``cancelled`` if its nonce was used elsewhere, or ``expired``; else the
   bundle is re-sent for the next block;
2. with nothing in flight, ready intents are claimed (``batched``), planned (net + route, see
   :mod:`keeper.settlement.planner`) while they are pre-checked on-chain (``checkOrder``, see
   :mod:`keeper.daemon.batching`), simulated on the exact calldata (orders that make it revert are
   dropped and the rest re-planned), priced (gas cap) and gated (cost vs. value); then
   ``simulated``; a live keeper signs the one transaction, simulates the bundle at the relay,
   records ``submitted`` (write-ahead, with the tx and bundle hashes) and sends the bundle
   privately for the next block. There is no public-mempool fallback;
3. bookkeeping that can wait until the bundle is out: intents past their deadline expire
   (unclaimed ones, and ones held in paper mode; a claim never takes one), and the settled
   bundle's intents are recorded ``settled``.

Reads that do not depend on each other overlap (worker threads): the pool state for the head
starts with the cycle, the pre-check runs during planning, the keeper's nonce is read meanwhile.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keeper.chain.head import Head
from keeper.config import KeeperSettings
from keeper.daemon.batching import Batching, _finish
from keeper.daemon.breaker import CircuitBreaker, failure_kind
from keeper.daemon.chainview import ChainView
from keeper.daemon.inflight import CycleReport, Follower, InFlight, Relay
from keeper.daemon.metrics import KeeperMetrics
from keeper.daemon.simulation import Simulator
from keeper.exceptions import KeeperError
from keeper.intents.records import Claim, IntentRecord
from keeper.intents.states import IntentState
from keeper.intents.store import IntentStore
from keeper.settlement.exceptions import GasAboveCapError
from keeper.settlement.gas import FeeQuote, GasForecast, next_base_fee, quote_fees
from keeper.settlement.outcome import SettledEvents
from keeper.settlement.plan import Candidate, Planner
from keeper.settlement.transaction import Settlement, SignedSettlement, sign

if TYPE_CHECKING:
    from keeper.daemon.refunds import RefundPassing
    from keeper.relay.bundle import Bundle

log = logging.getLogger("keeper.pipeline")

S = IntentState
#: the wall clock bounds the next block's time only on a chain whose head is this recent
#: (a dev chain at a made-up time is left alone)
WALL_CLOCK_HORIZON_S = 3600
#: the next block is expected at most this long after the head (a mainnet slot): a long gap
#: (an idle dev chain, missed slots) must not keep intents near their deadline from a batch
MAX_BLOCK_INTERVAL_S = 12


class Pipeline(Follower, Batching):
    """The per-block cycle. ``account`` (an Ape account) and ``relay`` are None in paper mode.

    The stages are mixins, not parts it owns: :class:`~keeper.daemon.inflight.Follower`
    (what is in flight) and :class:`~keeper.daemon.batching.Batching` (claim to simulated
    settlement) never call each other, but both work on the one state of the cycle that this
    class sets up (the settlements in flight, the held claims, the deferred store writes, the
    relay, breaker and metrics). As one object, :meth:`run_block` reads from top to bottom with
    every step a method of ``self``; as separate objects, that state would be handed between
    three owners (a follower's copy of the relay, of the list in flight) and one cycle would be
    harder to follow, not easier.
    """

    def __init__(
        self,
        settings: KeeperSettings,
        store: IntentStore,
        chain: ChainView,
        simulator: Simulator,
        planner: Planner,
        *,
        account: Any = None,
        relay: Relay | None = None,
        metrics: KeeperMetrics | None = None,
        breaker: CircuitBreaker | None = None,
        events: SettledEvents | None = None,
        refunds: RefundPassing | None = None,
    ) -> None:
        self.settings = settings
        #: builder refunds: ask, record, pass back (None: refunds off)
        self.refunds = refunds
        self.store = store
        self.chain = chain
        self.simulator = simulator
        self.planner = planner
        self.account = account
        self.relay = relay
        self.metrics = metrics or KeeperMetrics()
        self.breaker = breaker or CircuitBreaker(
            settings.breaker.failure_budget,
            settings.breaker.window_s,
            max_outage_s=settings.breaker.max_outage_s,
        )
        #: decodes IntentSettled to check deliveries against the plan (None = no check)
        self.events = events
        self.in_flight: list[InFlight] = []
        self.held: list[Claim] = []  # paper mode: simulated, never sent
        self.deferred = []
        self.waiting = 0  # intents ready at the end of the last cycle
        self.gas_forecast = GasForecast()
        self.last_report: CycleReport | None = None
        #: (number, timestamp) of the last head seen, and the block interval it shows
        self.last_head: tuple[int, int] | None = None
        self.block_interval = 1
        #: independent reads and writes of a cycle run here, overlapping each other
        self.io = ThreadPoolExecutor(max_workers=2, thread_name_prefix="keeper-io")

    def close(self) -> None:
        """Stop the worker threads (the planner's too); the store is closed by its owner."""
        self.io.shutdown(wait=True)
        close = getattr(self.planner, "close", None)
        if close is not None:
            close()

    @property
    def paper(self) -> bool:
        return self.account is None or self.relay is None

    # -- the cycle ----------------------------------------------------------------------------
    def run_block(self, head: Head) -> CycleReport:
        started = time.perf_counter()
        report = CycleReport(block=head.number)
        report.started = started
        if self.last_head is not None and self.last_head[0] == head.number - 1:
            gap = head.timestamp - self.last_head[1]
            self.block_interval = min(max(1, gap), MAX_BLOCK_INTERVAL_S)
        self.last_head = (head.number, head.timestamp)
        prefetch = getattr(self.planner, "prefetch", None)
        if prefetch is not None and not self.breaker.halted and (self.in_flight or self.waiting):
            prefetch(head)  # a batch is likely this block: read the pools meanwhile
        try:
            try:
                with report.stage("follow"):
                    for flight in list(self.in_flight):
                        self._follow(flight, head, report)
                if not self.in_flight and not self.breaker.halted:
                    self._new_batch(head, report)
            finally:
                # After the bundle is out: claims never take an intent past its deadline, so
                # recording expiries can wait, as can the previous bundle's settled records.
                with report.stage("bookkeeping"):
                    self.store.expire(head.timestamp, head.number)
                    self._expire_held(head)
                    self.write_deferred()
                    self._poll_refunds(head, report)
        except Exception as err:  # a broken answer while following or bookkeeping
            kind = failure_kind(err)
            if kind == "bug":
                log.exception("cycle failed in the keeper's own code")
            self.breaker.record_failure(kind, f"{type(err).__name__}: {err}")
            self.metrics.failures.labels(kind=kind).inc()
            report.notes.append(f"{kind} failure: {err}")
        report.seconds = time.perf_counter() - started
        self.metrics.blocks.inc()
        self.metrics.cycle_seconds.observe(report.seconds)
        if report.bundle_seconds is not None:
            self.metrics.bundle_seconds.observe(report.bundle_seconds)
        counts = self.store.counts()
        self.waiting = counts.get(S.ACCEPTED, 0)
        self.metrics.set_states(counts)
        self.metrics.halted.set(1 if self.breaker.halted else 0)
        self.last_report = report
        return report

    def _poll_refunds(self, head: Head, report: CycleReport) -> None:
        from keeper.relay.exceptions import RelayError

        if self.refunds is None:
            return
        try:
            self.refunds.poll(head.number)
        except RelayError as err:  # asked again at the next poll; nothing is lost meanwhile
            report.notes.append(f"refund query failed: {err}")

    def _bundle(self, signed: SignedSettlement) -> Bundle:
        """The bundle for a signed settlement (with refund payouts when refunds are on)."""
        from keeper.relay.bundle import Bundle

        if self.refunds is not None:
            return self.refunds.bundle(signed)
        return Bundle.of([signed.raw])

    # -- a new batch --------------------------------------------------------------------------
    def _new_batch(self, head: Head, report: CycleReport) -> None:
        limits = self.settings.limits
        with report.stage("claim"):
            claim = self.store.claim(
                limits.max_orders_per_batch,
                head.timestamp,
                head.number,
                lands_at=self._next_timestamp(head),
            )
        report.claimed = len(claim.records)
        if not claim.records:
            return
        try:
            self._settle_claim(claim, head, report)
        except GasAboveCapError as err:  # not a failure: wait for a cheaper block
            self._release(claim, claim.ids, S.BATCHED, head, str(err))
            report.notes.append(str(err))
        except Exception as err:
            # Whatever was not yet submitted goes back to the pool, unharmed: a broken answer
            # from the node or a relay is a counted failure and a retry, never an exit.
            kind = failure_kind(err)
            if kind == "bug":
                log.exception("cycle failed in the keeper's own code")
            for state in (S.BATCHED, S.SIMULATED):
                self.store.move(
                    claim.ids,
                    state,
                    S.ACCEPTED,
                    token=claim.token,
                    block=head.number,
                    reason=f"cycle failed: {err}",
                )
            self.breaker.record_failure(kind, f"{type(err).__name__}: {err}")
            self.metrics.failures.labels(kind=kind).inc()
            report.notes.append(f"{kind} failure: {err}")

    def _settle_claim(self, claim: Claim, head: Head, report: CycleReport) -> None:
        # Reads that do not depend on each other start now and overlap: the pools (planner),
        # the on-chain check of every order, and this keeper's account nonce.
        prefetch = getattr(self.planner, "prefetch", None)
        if prefetch is not None:
            prefetch(head)
        candidates = [Candidate.from_stored(r.id, r.payload, r.attempts) for r in claim.records]
        block = hex(head.number)  # every read of the batch is pinned to the head
        checks = self.io.submit(self.check_orders, candidates, block)
        nonce = (
            None
            if self.paper
            else self.io.submit(self.chain.account_nonce, str(self.account.address), block)
        )
        fees = quote_fees(self.settings.gas, self._next_base_fee(head))

        def presign(settlement: Settlement) -> Presigned | None:
            assert nonce is not None
            return self._presign(settlement, head, fees, nonce, report)

        plan, simulation, early = self._plan_and_simulate(
            claim, candidates, head, fees, report, checks, None if nonce is None else presign
        )
        if plan is None or plan.settlement is None or simulation is None:
            return
        gas = simulation.gas_used or 0
        settlement = plan.settlement
        self.gas_forecast.observe(len(settlement.orders), len(settlement.interactions), gas)
        ids = list(settlement.intent_ids)
        gas_limit = self._gas_limit(gas)
        cost_usd = fees.cost(gas) / 1e18 * plan.eth_usd
        budget_usd = plan.notional_usd * limits_bps(self.settings.limits.max_gas_cost_bps)
        if plan.eth_usd and cost_usd > budget_usd:
            _finish(early)
            self._release(
                claim,
                ids,
                S.BATCHED,
                head,
                f"cost gate: gas ${cost_usd:.2f} > "
                f"${budget_usd:.2f} allowed for ${plan.notional_usd:,.0f}",
            )
            return
        # Recorded while the transaction is signed and simulated at the relay (joined before
        # the write-ahead record of the submission).
        simulated = self.io.submit(
            self.store.move, ids, S.BATCHED, S.SIMULATED, token=claim.token, block=head.number
        )
        records = {r.id: r for r in claim.records if r.id in ids}
        if self.paper or nonce is None:
            simulated.result()
            self.held.append(Claim(claim.token, list(records.values())))
            report.notes.append(f"paper mode: {len(ids)} intents simulated ({gas} gas), not sent")
            return
        quoted = self._quoted(settlement, simulation)
        if early is None or early.signed.gas_limit < gas_limit:
            _finish(early)  # signed with too low a limit: sign again with the simulated gas
            with report.stage("sign"):
                signed = sign(
                    settlement, self.account, nonce=nonce.result(), gas_limit=gas_limit, fees=fees
                )
            early = Presigned(signed, self._bundle(signed))
        self._submit(claim, early, records, head, simulated, quoted, report)

    def _next_timestamp(self, head: Head) -> int:
        """The earliest timestamp of the block a bundle sent now can land in: the head's plus
        the last block interval seen (12 s on mainnet), and not before the wall clock (a dev chain
        that mines on demand stamps its next block with the wall clock, however long ago its
        last block was). An intent whose deadline comes before it would make the whole bundle
        revert in the relay's simulation.
        """
        earliest = head.timestamp + self.block_interval
        now = int(time.time())
        if earliest < now <= head.timestamp + WALL_CLOCK_HORIZON_S:  # a chain on the wall clock
            earliest = now
        return earliest

    def _next_base_fee(self, head: Head) -> int:
        return next_base_fee(head.base_fee, head.gas_used, head.gas_limit)

    def _gas_limit(self, gas: int) -> int:
        return gas * (10_000 + self.settings.gas.gas_limit_margin_bps) // 10_000

    def _presign(
        self,
        settlement: Settlement,
        head: Head,
        fees: FeeQuote,
        nonce: Future[int],
        report: CycleReport,
    ) -> Presigned | None:
        """Sign with the forecast gas limit and have the relay simulate the signed bundle while
        the node simulates the call (the same transaction either way: calldata, sender)."""
        forecast = self.gas_forecast.forecast(len(settlement.orders), len(settlement.interactions))
        if forecast is None or self.relay is None:
            return None
        limit = min(self._gas_limit(forecast), head.gas_limit)
        with report.stage("sign"):
            signed = sign(
                settlement, self.account, nonce=nonce.result(), gas_limit=limit, fees=fees
            )
        bundle = self._bundle(signed)
        checked = self.io.submit(self.relay.call_bundle, bundle, head.number + 1)
        return Presigned(signed, bundle, checked)

    def _submit(
        self,
        claim: Claim,
        presigned: Presigned,
        records: dict[str, IntentRecord],
        head: Head,
        simulated: Future[Any],
        quoted: dict[tuple[str, int], tuple[int, ...]],
        report: CycleReport,
    ) -> None:
        assert self.relay is not None
        signed, bundle = presigned.signed, presigned.bundle
        ids = list(signed.settlement.intent_ids)
        with report.stage("call_bundle"):
            try:
                if presigned.checked is not None:  # under way since before the simulation
                    result = presigned.checked.result()
                else:
                    result = self.relay.call_bundle(bundle, head.number + 1)
            finally:
                simulated.result()  # the intents are `simulated` before anything else moves them
        self.breaker.record_success("relay")
        simulated_txs = [r.tx_hash.lower() for r in result.results]
        if simulated_txs != [h.lower() for h in bundle.tx_hashes]:
            # Not a simulation of this transaction: nothing is sent on its word.
            raise KeeperError(
                f"eth_callBundle answered for {simulated_txs or 'no transaction'}, "
                f"not the signed settlement {signed.tx_hash}"
            )
        if result.first_revert is not None:
            why = self._after_bundle_revert(claim, signed.settlement, result.first_revert, head)
            self.breaker.record_failure("bundle-simulation", why)
            report.notes.append(f"bundle simulation reverted: {why}")
            return
        last_block = head.number + self.settings.relay.target_blocks
        # Write-ahead: the hashes are on record before the bundle can land.
        with report.stage("record"):
            self.store.move(
                ids,
                S.SIMULATED,
                S.SUBMITTED,
                token=claim.token,
                block=head.number,
                tx_hash=signed.tx_hash,
                bundle_hash=bundle.hash,
                target_block=last_block,
            )
            if self.refunds is not None:  # the credits and payouts it carries, before sending
                self.refunds.reserve(signed, bundle, head.number)
        flight = InFlight(
            token=claim.token,
            ids=ids,
            tx_hash=signed.tx_hash,
            bundle_hash=bundle.hash,
            last_block=last_block,
            bundle=bundle,
            quoted=quoted,
            records=records,
        )
        self.in_flight.append(flight)
        report.submitted += len(ids)
        with report.stage("send"):
            self._send(flight, head.number + 1)
        report.bundle_seconds = time.perf_counter() - report.started


@dataclass(frozen=True)
class Presigned:
    """The signed settlement, its bundle, and the relay's simulation of it (when started)."""

    signed: SignedSettlement
    bundle: Bundle
    checked: Future[Any] | None = None


def limits_bps(bps: int) -> float:
    return bps / 10_000
