"""Following submitted settlements: inclusion, re-sending, retries, and restart recovery.

The part of the per-block cycle (:mod:`keeper.daemon.pipeline`) that deals with what is already in
flight: a confirmed receipt settles its intents (and is checked against the simulation); a
bundle whose last target block passed releases its intents for a retry (or ends them as
cancelled or expired); otherwise the bundle is re-sent for the next block.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from keeper.chain.head import Head
from keeper.config import KeeperSettings
from keeper.daemon.breaker import CircuitBreaker
from keeper.daemon.chainview import ChainView
from keeper.daemon.metrics import KeeperMetrics
from keeper.daemon.simulation import Simulator
from keeper.intents.records import Claim, IntentRecord
from keeper.intents.states import IntentState
from keeper.intents.store import IntentStore
from keeper.settlement.outcome import SettledEvents

log = logging.getLogger("keeper.pipeline")

S = IntentState


class Relay(Protocol):
    """The parts of :class:`keeper.relay.RelayClient` the pipeline uses."""

    def call_bundle(self, bundle: Any, block_number: int) -> Any: ...

    def send_bundle(self, bundle: Any, target_block: int) -> Any: ...


@dataclass
class InFlight:
    token: str
    ids: list[str]
    tx_hash: str
    bundle_hash: str
    last_block: int
    bundle: Any = None  # None when adopted after a restart (cannot be re-sent)
    quoted: dict[tuple[str, int], tuple[int, ...]] = field(default_factory=dict)
    records: dict[str, IntentRecord] = field(default_factory=dict)


@dataclass
class CycleReport:
    block: int
    claimed: int = 0
    submitted: int = 0
    settled: int = 0
    retried: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    started: float = 0.0  # perf_counter() when the cycle began
    #: block-to-bundle latency: from the start of the cycle (new head known) to the new
    #: bundle's ``eth_sendBundle`` answered; None when no new bundle was sent
    bundle_seconds: float | None = None
    #: seconds per stage (expire, follow, claim, precheck, snapshot, net, simulate, sign, ...)
    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - started


class Follower:
    """Mixed into :class:`keeper.daemon.pipeline.Pipeline` (which sets these attributes)."""

    settings: KeeperSettings
    store: IntentStore
    chain: ChainView
    simulator: Simulator
    relay: Relay | None
    metrics: KeeperMetrics
    breaker: CircuitBreaker
    events: SettledEvents | None
    in_flight: list[InFlight]
    held: list[Claim]
    refunds: Any  # keeper.daemon.refunds.RefundPassing | None
    #: store writes that may wait until the cycle's bundle is sent
    deferred: list[Callable[[], None]]
    #: records what a settlement did (keeper.daemon.recording.SettlementRecorder); None = not
    recorder: Any = None

    def write_deferred(self) -> None:
        while self.deferred:
            self.deferred.pop(0)()

    # -- start-up ---------------------------------------------------------------------------
    def recover(self) -> None:
        """Take over this keeper's claims from before a restart (and dead keepers' claims)."""
        block = self.chain.block_number()
        adopted = self.store.recover(block, own=True)
        by_tx: dict[str, list[IntentRecord]] = {}
        for record in adopted.records:
            by_tx.setdefault(record.tx_hash or "", []).append(record)
        for tx_hash, records in by_tx.items():
            self.in_flight.append(
                InFlight(
                    token=adopted.token,
                    ids=[r.id for r in records],
                    tx_hash=tx_hash,
                    bundle_hash=records[0].bundle_hash or "",
                    last_block=max(r.target_block or 0 for r in records),
                    records={r.id: r for r in records},
                )
            )
        if adopted.records:
            log.info("adopted %d submitted intents after restart", len(adopted.records))

    def _expire_held(self, head: Head) -> None:
        for claim in list(self.held):
            due = [r.id for r in claim.records if r.deadline <= head.timestamp]
            self.store.move(
                due,
                S.SIMULATED,
                S.EXPIRED,
                token=claim.token,
                block=head.number,
                reason="deadline passed (paper mode: never sent)",
            )
            left = [r for r in claim.records if r.id not in due]
            self.held.remove(claim)
            if left:
                self.held.append(Claim(claim.token, left))
                self.store.renew(claim.token)

    # -- following a submitted settlement -----------------------------------------------------
    def _follow(self, flight: InFlight, head: Head, report: CycleReport) -> None:
        receipt = self.chain.receipt(flight.tx_hash) if flight.tx_hash else None
        if receipt is not None:
            block = int(str(receipt["blockNumber"]), 16)
            # Not deep enough yet (relay.confirmations; at least one: a block builder's trial
            # block, mined, inspected and reverted, may show a receipt for an instant). Until
            # then the flight is followed as before: if a reorg drops the transaction, its
            # receipt goes and the bundle is re-sent or, past its blocks, given up on.
            if not self._confirmed(block, head):
                self.store.renew(flight.token)
                return
            self.in_flight.remove(flight)
            if int(str(receipt["status"]), 16) == 1:
                self.metrics.bundles.labels(outcome="included").inc()
                self._check_delivery(flight, receipt)  # before any new batch: may halt

                # Recorded at the end of the cycle, after the next bundle is out: the chain
                # already holds the outcome, and a restart would find it by the tx hash.
                def settle(flight: InFlight = flight, block: int = block) -> None:
                    moved = self.store.move(
                        flight.ids,
                        S.SUBMITTED,
                        S.SETTLED,
                        token=flight.token,
                        block=block,
                        tx_hash=flight.tx_hash,
                        bundle_hash=flight.bundle_hash,
                    )
                    report.settled += len(moved)
                    if self.refunds is not None:
                        self.refunds.landed(flight.tx_hash, flight.bundle_hash, block, flight.ids)
                    if moved:
                        self._record(flight, receipt)

                self.deferred.append(settle)
                return
            reason = f"settlement {flight.tx_hash} reverted on-chain"
            self._retry(flight, head, reason, report, count_attempt=True)
            self.breaker.record_failure("revert", flight.tx_hash)
            return
        if head.number >= flight.last_block:
            self.in_flight.remove(flight)
            self.metrics.bundles.labels(outcome="missed").inc()
            self._retry(flight, head, f"bundle not included by block {flight.last_block}", report)
            return
        self.store.renew(flight.token)
        if flight.bundle is not None and self.relay is not None:
            self._send(flight, head.number + 1)

    def _record(self, flight: InFlight, receipt: dict[str, Any]) -> None:
        """Keep what the settlement did (the dashboard's history), in the recorder's own thread.
        Its intents are settled whatever happens there: a failed read is logged and counted."""
        if self.recorder is not None:
            self.recorder.record_later(flight, receipt)

    def _check_delivery(self, flight: InFlight, receipt: dict[str, Any]) -> None:
        from keeper.settlement.outcome import shortfalls

        if self.events is None or not flight.quoted:
            return
        settled = self.events.decode(receipt.get("logs", []), self.simulator.executor)
        problems = shortfalls(settled, flight.quoted)
        if problems:
            self.breaker.trip("settlement delivered less than simulated: " + "; ".join(problems))
            log.error("invariant broken in %s: %s", flight.tx_hash, problems)

    def _retry(
        self,
        flight: InFlight,
        head: Head,
        reason: str,
        report: CycleReport,
        *,
        count_attempt: bool = False,
    ) -> None:
        """Not included: cancelled if the nonce was used elsewhere, expired, else retried.

        A bundle that missed its blocks (outbid, a proposer without mev-boost) says nothing
        about its intents: only a settlement that reverted on-chain counts as an attempt, so
        misses never use up an intent's ``max_attempts``.
        """
        used: dict[str, tuple[str, int] | None] = {}
        for intent_id in flight.ids:
            record = flight.records.get(intent_id) or self.store.get(intent_id)
            if self.chain.nonce_used(record.owner, record.nonce):
                used[intent_id] = earlier = self._landed_earlier(intent_id, flight)
                if earlier is not None and not self._confirmed(earlier[1], head):
                    # settled by this keeper's earlier transaction, not confirmed yet: look
                    # again next block (as for the flight's own receipt)
                    self.in_flight.append(flight)
                    self.store.renew(flight.token)
                    return
        for intent_id in flight.ids:
            record = flight.records.get(intent_id) or self.store.get(intent_id)
            if intent_id in used:
                earlier = used[intent_id]
                if earlier is not None:  # this keeper's own earlier transaction, landed late
                    tx_hash, block = earlier
                    moved = self.store.move(
                        [intent_id],
                        S.SUBMITTED,
                        S.SETTLED,
                        token=flight.token,
                        block=block,
                        tx_hash=tx_hash,
                        reason=f"settled by this keeper's earlier transaction {tx_hash}",
                    )
                    report.settled += len(moved)
                    self.metrics.bundles.labels(outcome="included").inc()
                    if self.refunds is not None:  # its credits and payouts landed with it
                        self.refunds.book.resolve(tx_hash, landed=True, block=block, void=True)
                    continue
                target, why = S.CANCELLED, "nonce used outside this keeper's settlement"
            elif record.deadline <= head.timestamp:
                target, why = S.EXPIRED, f"{reason}; deadline passed"
            else:
                target, why = S.ACCEPTED, f"{reason}; retrying"
                report.retried += 1
            self.store.move(
                [intent_id],
                S.SUBMITTED,
                target,
                token=flight.token,
                block=head.number,
                reason=why,
                count_attempt=count_attempt and target is S.ACCEPTED,
            )
        if self.refunds is not None:  # given up on: what it would have passed on is owed again
            self.refunds.missed(flight.tx_hash)

    def _confirmed(self, block: int, head: Head) -> bool:
        """Whether a receipt in ``block`` is ``relay.confirmations`` blocks deep at ``head``."""
        return head.number - block >= self.settings.relay.confirmations

    def _landed_earlier(self, intent_id: str, flight: InFlight) -> tuple[str, int] | None:
        """``(tx hash, block)`` of an earlier settlement of this intent that this keeper signed
        and that landed (status 1) after its bundle was given up on: a missed bundle's
        transaction can still land if it leaked (an uncled block's transactions go back to the
        public mempool)."""
        earlier = {
            t.tx_hash.lower()
            for t in self.store.history(intent_id)
            if t.target is S.SUBMITTED and t.tx_hash
        } - {flight.tx_hash.lower()}
        for tx_hash in sorted(earlier):
            receipt = self.chain.receipt(tx_hash)
            if receipt is not None and int(str(receipt["status"]), 16) == 1:
                return tx_hash, int(str(receipt["blockNumber"]), 16)
        return None

    def _send(self, flight: InFlight, block: int) -> None:
        from keeper.relay.exceptions import RelayError

        assert self.relay is not None
        # The chain may have moved on while this cycle ran: aim at the real next block.
        block = max(block, self.chain.block_number() + 1)
        if block > flight.last_block:
            return
        try:
            self.relay.send_bundle(flight.bundle, block)
            self.breaker.record_success("relay")
            self.metrics.bundles.labels(outcome="submitted").inc()
        except RelayError as err:  # re-sent next block; intents stay submitted
            self.breaker.record_failure("relay", str(err))
            self.metrics.bundles.labels(outcome="refused").inc()
            log.warning("relay refused bundle %s for block %d: %s", flight.bundle_hash, block, err)
