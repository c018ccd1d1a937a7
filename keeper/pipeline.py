"""One keeper cycle per block: expire, follow what is in flight, then batch, plan, simulate, send.

``Pipeline.run_block(head)`` is the whole per-block job:

1. intents past their deadline expire (unclaimed ones, and ones held in paper mode);
2. a settlement in flight is followed: included -> ``settled`` (checked against the plan: a
   shortfall trips the circuit breaker); its last target block passed -> each intent is retried
   (``accepted``), or ``cancelled`` if its nonce was used elsewhere, or ``expired``; else the
   bundle is re-sent for the next block;
3. with nothing in flight, ready intents are claimed (``batched``), pre-checked on-chain
   (``checkOrder``), planned (net + route, see :mod:`keeper.settlement.planner`), simulated on the
   exact calldata (orders that make it revert are dropped and the rest re-planned), priced
   (gas cap) and gated (cost vs. value); then ``simulated``; a live keeper signs the one
   transaction, simulates the bundle at the relay, records ``submitted`` (write-ahead, with the
   tx and bundle hashes) and sends the bundle privately for the next block. There is no
   public-mempool fallback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from keeper.breaker import CircuitBreaker
from keeper.chainview import ChainView, Head
from keeper.config import KeeperSettings
from keeper.exceptions import KeeperError
from keeper.inflight import CycleReport, Follower, InFlight, Relay
from keeper.intents.records import Claim, IntentRecord
from keeper.intents.states import IntentState
from keeper.intents.store import IntentStore
from keeper.intents.validation import SignedIntent
from keeper.metrics import KeeperMetrics
from keeper.settlement.exceptions import GasAboveCapError
from keeper.settlement.gas import FeeQuote, next_base_fee, quote_fees
from keeper.settlement.outcome import SettledEvents
from keeper.settlement.plan import Candidate, Plan, Planner
from keeper.settlement.transaction import Settlement, sign
from keeper.simulation import RpcError, Simulation, Simulator

log = logging.getLogger("keeper.pipeline")

S = IntentState
#: checkOrder statuses that can never pass later, and the state they end in
FINAL_STATUSES = {
    "InvalidSignature": S.FAILED,
    "WrongExecutor": S.FAILED,
    "WrongKeeper": S.FAILED,
    "NonceAlreadyUsed": S.CANCELLED,
    "IntentExpired": S.EXPIRED,
}
#: statuses about the executor or this keeper, not about one intent: nobody is to blame
GLOBAL_STATUSES = {"EnforcedPause", "NotKeeper"}
MAX_REPLANS = 4


class Pipeline(Follower):
    """The per-block cycle. ``account`` (an Ape account) and ``relay`` are None in paper mode."""

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
    ) -> None:
        self.settings = settings
        self.store = store
        self.chain = chain
        self.simulator = simulator
        self.planner = planner
        self.account = account
        self.relay = relay
        self.metrics = metrics or KeeperMetrics()
        self.breaker = breaker or CircuitBreaker(
            settings.breaker.failure_budget, settings.breaker.window_s
        )
        #: decodes IntentSettled to check deliveries against the plan (None = no check)
        self.events = events
        self.in_flight: list[InFlight] = []
        self.held: list[Claim] = []  # paper mode: simulated, never sent
        self.last_report: CycleReport | None = None

    @property
    def paper(self) -> bool:
        return self.account is None or self.relay is None

    # -- the cycle ----------------------------------------------------------------------------
    def run_block(self, head: Head) -> CycleReport:
        started = time.perf_counter()
        report = CycleReport(block=head.number)
        report.started = started
        try:
            with report.stage("expire"):
                self.store.expire(head.timestamp, head.number)
                self._expire_held(head)
            with report.stage("follow"):
                for flight in list(self.in_flight):
                    self._follow(flight, head, report)
            if not self.in_flight and not self.breaker.halted:
                self._new_batch(head, report)
        except RpcError as err:
            self.breaker.record_failure("rpc", str(err))
            self.metrics.failures.labels(kind="rpc").inc()
            report.notes.append(f"rpc failure: {err}")
        report.seconds = time.perf_counter() - started
        self.metrics.blocks.inc()
        self.metrics.cycle_seconds.observe(report.seconds)
        self.metrics.set_states(self.store.counts())
        self.metrics.halted.set(1 if self.breaker.halted else 0)
        self.last_report = report
        return report

    # -- a new batch --------------------------------------------------------------------------
    def _new_batch(self, head: Head, report: CycleReport) -> None:
        limits = self.settings.limits
        with report.stage("claim"):
            claim = self.store.claim(limits.max_orders_per_batch, head.timestamp, head.number)
        report.claimed = len(claim.records)
        if not claim.records:
            return
        try:
            self._settle_claim(claim, head, report)
        except GasAboveCapError as err:  # not a failure: wait for a cheaper block
            self._release(claim, claim.ids, S.BATCHED, head, str(err))
            report.notes.append(str(err))
        except (RpcError, KeeperError) as err:
            # Whatever was not yet submitted goes back to the pool, unharmed.
            for state in (S.BATCHED, S.SIMULATED):
                self.store.move(
                    claim.ids,
                    state,
                    S.ACCEPTED,
                    token=claim.token,
                    block=head.number,
                    reason=f"cycle failed: {err}",
                )
            kind = "rpc" if isinstance(err, RpcError) else "cycle"
            self.breaker.record_failure(kind, str(err))
            self.metrics.failures.labels(kind=kind).inc()
            report.notes.append(f"{kind} failure: {err}")

    def _settle_claim(self, claim: Claim, head: Head, report: CycleReport) -> None:
        prefetch = getattr(self.planner, "prefetch", None)
        if prefetch is not None:  # the pools are read while the orders are checked
            prefetch(head)
        with report.stage("precheck"):
            candidates = self._precheck(claim, head)
        fees = quote_fees(self.settings.gas, self._next_base_fee(head))
        plan, simulation = self._plan_and_simulate(claim, candidates, head, fees, report)
        if plan is None or plan.settlement is None or simulation is None:
            return
        gas = simulation.gas_used or 0
        settlement = plan.settlement
        ids = list(settlement.intent_ids)
        gas_limit = gas * (10_000 + self.settings.gas.gas_limit_margin_bps) // 10_000
        cost_usd = fees.cost(gas) / 1e18 * plan.eth_usd
        budget_usd = plan.notional_usd * limits_bps(self.settings.limits.max_gas_cost_bps)
        if plan.eth_usd and cost_usd > budget_usd:
            self._release(
                claim,
                ids,
                S.BATCHED,
                head,
                f"cost gate: gas ${cost_usd:.2f} > "
                f"${budget_usd:.2f} allowed for ${plan.notional_usd:,.0f}",
            )
            return
        with report.stage("record"):
            self.store.move(ids, S.BATCHED, S.SIMULATED, token=claim.token, block=head.number)
        records = {r.id: r for r in claim.records if r.id in ids}
        if self.paper:
            self.held.append(Claim(claim.token, list(records.values())))
            report.notes.append(f"paper mode: {len(ids)} intents simulated ({gas} gas), not sent")
            return
        quoted = self._quoted(settlement, simulation)
        self._submit(claim, settlement, records, head, fees, gas_limit, quoted, report)

    def _next_base_fee(self, head: Head) -> int:
        return next_base_fee(head.base_fee, head.gas_used, head.gas_limit)

    def _precheck(self, claim: Claim, head: Head) -> list[Candidate]:
        from keeper.intents.types import Execution, Order

        candidates = [
            Candidate(r.id, SignedIntent.model_validate(r.payload), r.attempts)
            for r in claim.records
        ]
        orders = [
            Order(
                intent=c.signed.intent,
                signature=c.signed.signature,
                execution=Execution(
                    sell_amounts=[leg.amount for leg in c.signed.intent.sells],
                    buy_amounts=[leg.amount for leg in c.signed.intent.buys],
                ),
            )
            for c in candidates
        ]
        statuses = self.simulator.check_orders(orders)
        if any(s in GLOBAL_STATUSES for s in statuses):
            blocked = next(s for s in statuses if s in GLOBAL_STATUSES)
            raise KeeperError(f"executor refuses this keeper: {blocked}")
        keep = []
        for candidate, status in zip(candidates, statuses, strict=True):
            if status is None:
                keep.append(candidate)
            else:
                self._drop(
                    claim, candidate, head, f"checkOrder: {status}", FINAL_STATUSES.get(status)
                )
        return keep

    def _drop(
        self,
        claim: Claim,
        candidate: Candidate,
        head: Head,
        reason: str,
        final: IntentState | None = None,
        source: IntentState = S.BATCHED,
    ) -> None:
        """Take one intent out of the batch: finished if ``final``, else retried (counted)."""
        if final is None and candidate.attempts + 1 >= self.settings.limits.max_attempts:
            final, reason = S.FAILED, f"{reason} (after {candidate.attempts + 1} attempts)"
        target = final or S.ACCEPTED
        self.store.move(
            [candidate.id],
            source,
            target,
            token=claim.token,
            block=head.number,
            reason=reason,
            count_attempt=target is S.ACCEPTED,
        )

    def _release(
        self, claim: Claim, ids: Sequence[str], source: IntentState, head: Head, reason: str
    ) -> None:
        """Back to the pool without blame (gas, cost gate, bisection)."""
        self.store.move(
            list(ids), source, S.ACCEPTED, token=claim.token, block=head.number, reason=reason
        )

    def _plan_and_simulate(
        self,
        claim: Claim,
        candidates: list[Candidate],
        head: Head,
        fees: FeeQuote,
        report: CycleReport,
    ) -> tuple[Plan | None, Simulation | None]:
        by_id = {c.id: c for c in candidates}
        for _ in range(MAX_REPLANS):
            if not candidates:
                return None, None
            with report.stage("plan"):
                plan = self.planner.plan(candidates, head, fees)
            for name, seconds in plan.timings.items():
                report.stages[name] = report.stages.get(name, 0.0) + seconds
            for intent_id, reason in plan.dropped.items():
                self._drop(claim, by_id[intent_id], head, reason)
            if plan.deferred:
                self._release(claim, plan.deferred, S.BATCHED, head, "deferred to the next block")
            if plan.settlement is None:
                return None, None
            with report.stage("simulate"):
                simulation = self.simulator.estimate(plan.settlement)
            if simulation.ok and simulation.gas_used is not None:
                return plan, simulation
            error = simulation.error
            blamed = self._blame(plan.settlement, error.args if error else ())
            planned = list(plan.settlement.intent_ids)
            if blamed:
                for intent_id in blamed:
                    self._drop(claim, by_id[intent_id], head, f"simulation: {error}")
            elif len(planned) > 1:  # nobody named: retry half now, half next block
                half = planned[len(planned) // 2 :]
                self._release(claim, half, S.BATCHED, head, f"bisecting after {error}")
                blamed = half
            else:
                self._drop(claim, by_id[planned[0]], head, f"simulation: {error}")
                blamed = planned
            candidates = [c for c in candidates if c.id in planned and c.id not in blamed]
        self._release(claim, [c.id for c in candidates], S.BATCHED, head, "too many re-plans")
        return None, None

    def _quoted(
        self, settlement: Settlement, simulation: Simulation
    ) -> dict[tuple[str, int], tuple[int, ...]]:
        """What each owner receives in the simulation (its logs), else what the plan expects."""
        if self.events is not None and simulation.logs:
            settled = self.events.decode(simulation.logs, settlement.executor)
            return {(e.owner, e.nonce): e.received for e in settled}
        return {
            (o.intent.owner, o.intent.nonce): tuple(settlement.quoted.get(i, ()))
            for o, i in zip(settlement.orders, settlement.intent_ids, strict=True)
            if settlement.quoted.get(i)
        }

    @staticmethod
    def _blame(settlement: Settlement, args: Sequence[Any]) -> list[str]:
        owners = {str(a).lower() for a in args if isinstance(a, str)}
        return [
            intent_id
            for order, intent_id in zip(settlement.orders, settlement.intent_ids, strict=True)
            if order.intent.owner.lower() in owners
        ]

    def _submit(
        self,
        claim: Claim,
        settlement: Settlement,
        records: dict[str, IntentRecord],
        head: Head,
        fees: FeeQuote,
        gas_limit: int,
        quoted: dict[tuple[str, int], tuple[int, ...]],
        report: CycleReport,
    ) -> None:
        from keeper.relay.bundle import Bundle

        assert self.relay is not None
        ids = list(settlement.intent_ids)
        with report.stage("sign"):
            nonce = self.chain.account_nonce(str(self.account.address))
            signed = sign(settlement, self.account, nonce=nonce, gas_limit=gas_limit, fees=fees)
            bundle = Bundle.of([signed.raw])
        with report.stage("call_bundle"):
            result = self.relay.call_bundle(bundle, head.number + 1)
        if result.first_revert is not None:
            why = result.first_revert.revert or result.first_revert.error
            for intent_id in ids:
                self.store.move(
                    [intent_id],
                    S.SIMULATED,
                    S.ACCEPTED,
                    token=claim.token,
                    block=head.number,
                    reason=f"bundle simulation reverted: {why}",
                    count_attempt=True,
                )
            self.breaker.record_failure("bundle-simulation", str(why))
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


def limits_bps(bps: int) -> float:
    return bps / 10_000
