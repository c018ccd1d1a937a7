"""From a claim to one simulated settlement: pre-check, plan, simulate, drop the culprits.

The part of the per-block cycle (:mod:`keeper.daemon.pipeline`) between claiming intents and
signing:

* every order is checked on-chain (``checkOrder``, one JSON-RPC batch) *while* the batch is
  planned: the check is I/O, planning is CPU, so the check costs no wall time unless it finds
  something. An order that fails it is dropped (finished if it never can pass: bad signature,
  nonce used, expired) and the rest re-planned before anything is simulated;
* the plan is simulated once on its exact calldata; an order that makes it revert is dropped
  (named by the error's owner argument, else by bisection) and the rest re-planned.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from keeper.chain.head import Head
from keeper.config import KeeperSettings
from keeper.daemon.inflight import CycleReport
from keeper.daemon.simulation import Simulation, Simulator
from keeper.exceptions import KeeperError
from keeper.intents.records import Claim
from keeper.intents.states import IntentState
from keeper.intents.store import IntentStore
from keeper.settlement.gas import FeeQuote
from keeper.settlement.outcome import SettledEvents
from keeper.settlement.plan import Candidate, Plan, Planner
from keeper.settlement.transaction import Settlement

S = IntentState
#: checkOrder statuses that can never pass later, and the state they end in. The executor
#: hashes an intent with its own address, so one signed for another executor fails as
#: InvalidSignature (intake refuses such intents first, naming ``intent.executor``).
FINAL_STATUSES = {
    "InvalidSignature": S.FAILED,
    "WrongKeeper": S.FAILED,
    "NonceAlreadyUsed": S.CANCELLED,
    "IntentExpired": S.EXPIRED,
}
#: statuses about the executor or this keeper, not about one intent: nobody is to blame
GLOBAL_STATUSES = {"EnforcedPause", "NotKeeper"}
MAX_REPLANS = 4

#: (statuses, seconds the check took)
Checked = tuple[list[str | None], float]


class Batching:
    """Mixed into :class:`keeper.daemon.pipeline.Pipeline` (which sets these attributes)."""

    settings: KeeperSettings
    store: IntentStore
    simulator: Simulator
    planner: Planner
    events: SettledEvents | None

    # -- the on-chain pre-check -----------------------------------------------------------------
    def check_orders(self, candidates: Sequence[Candidate], block: str = "latest") -> Checked:
        """``checkOrder`` for every candidate at its full signed amounts, on ``block``
        (thread-safe)."""
        from keeper.intents.types import Execution, Order

        started = time.perf_counter()
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
        return self.simulator.check_orders(orders, block), time.perf_counter() - started

    def _apply_checks(
        self,
        claim: Claim,
        candidates: list[Candidate],
        checked: Checked,
        head: Head,
        report: CycleReport,
    ) -> list[Candidate]:
        """Drop the candidates whose check failed; the ones that passed."""
        statuses, seconds = checked
        report.stages["precheck"] = seconds
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

    # -- taking intents out of the batch --------------------------------------------------------
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

    # -- plan and simulate ----------------------------------------------------------------------
    def _plan_and_simulate(
        self,
        claim: Claim,
        candidates: list[Candidate],
        head: Head,
        fees: FeeQuote,
        report: CycleReport,
        checks: Future[Checked],
        presign: Callable[[Settlement], Any] | None = None,
    ) -> tuple[Plan | None, Simulation | None, Any]:
        """Plan (while ``checks`` runs), apply the checks, simulate; re-plan without culprits.

        ``presign(settlement)`` is called just before each simulation (to sign and have the
        relay simulate the signed transaction meanwhile); its answer for the plan that passed
        is returned third (None otherwise; answers for failed plans are waited for and dropped).
        """
        by_id = {c.id: c for c in candidates}
        pending: Future[Checked] | None = checks
        for _ in range(MAX_REPLANS):
            if not candidates:
                return None, None, None
            with report.stage("plan"):
                plan = self.planner.plan(candidates, head, fees)
            for name, seconds in plan.timings.items():
                report.stages[name] = report.stages.get(name, 0.0) + seconds
            if pending is not None:
                with report.stage("precheck_wait"):
                    checked = pending.result()
                pending = None
                passed = self._apply_checks(claim, candidates, checked, head, report)
                if len(passed) < len(candidates):
                    # Plan again without them; the planner's own drops are not recorded
                    # yet (the candidates it dropped may pass next time with fewer orders).
                    candidates = passed
                    continue
            for intent_id, reason in plan.dropped.items():
                self._drop(claim, by_id[intent_id], head, reason)
            if plan.deferred:
                self._release(claim, plan.deferred, S.BATCHED, head, "deferred to the next block")
            if plan.settlement is None:
                return None, None, None
            early = presign(plan.settlement) if presign is not None else None
            try:
                with report.stage("simulate"):
                    # On the head's state: a builder's trial block (the relay may be checking
                    # this very transaction meanwhile) is never what it simulates on.
                    simulation = self.simulator.estimate(plan.settlement, hex(head.number))
            except BaseException:
                _finish(early)
                raise
            if simulation.ok and simulation.gas_used is not None:
                return plan, simulation, early
            _finish(early)
            candidates = self._after_revert(claim, candidates, plan.settlement, simulation, head)
        self._release(claim, [c.id for c in candidates], S.BATCHED, head, "too many re-plans")
        return None, None, None

    def _after_revert(
        self,
        claim: Claim,
        candidates: list[Candidate],
        settlement: Settlement,
        simulation: Simulation,
        head: Head,
    ) -> list[Candidate]:
        """Drop whoever the revert names (else bisect); the candidates to plan again."""
        by_id = {c.id: c for c in candidates}
        error = simulation.error
        blamed = blame(settlement, error.args if error else ())
        planned = list(settlement.intent_ids)
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
        return [c for c in candidates if c.id in planned and c.id not in blamed]

    def _after_bundle_revert(
        self, claim: Claim, settlement: Settlement, reverted: Any, head: Head
    ) -> str:
        """The relay's simulation of the signed bundle reverted although the node's passed: the
        chain moved in between (a cancel landed, a balance was spent). Only the orders that fail
        now are charged (named by the revert's owner argument, else by ``checkOrder`` on the
        state the relay simulated on); the others go back to the pool without an attempt.
        Returns what the revert said."""
        revert = str(reverted.revert or "")
        error = None
        if revert.startswith("0x") and len(revert) >= 10:
            error = self.simulator.decoder.decode(bytes.fromhex(revert[2:]))
        why = str(error) if error is not None else str(reverted.revert or reverted.error)
        ids = list(settlement.intent_ids)
        # The revert names its order (e.g. NonceAlreadyUsed(owner, nonce)): that is the culprit,
        # ended for good when the error says it can never pass.
        culprits: dict[str, str | None] = {}
        if error is not None:
            culprits = dict.fromkeys(blame(settlement, error.args), error.name)
        if not culprits:
            statuses = self.simulator.check_orders(settlement.orders, "latest")
            culprits = {i: s for i, s in zip(ids, statuses, strict=True) if s is not None}
        records = {r.id: r for r in claim.records}
        for intent_id, status in culprits.items():
            record = records[intent_id]
            reason = f"bundle simulation reverted: {why}"
            if status and error is not None and status != error.name:
                reason += f" (checkOrder: {status})"
            candidate = Candidate.from_stored(record.id, record.payload, record.attempts)
            final = FINAL_STATUSES.get(status) if status else None
            self._drop(claim, candidate, head, reason, final, source=S.SIMULATED)
        innocent = [i for i in ids if i not in culprits]
        if innocent:
            self._release(
                claim, innocent, S.SIMULATED, head,
                f"bundle simulation reverted ({why}); not this intent's doing",
            )  # fmt: skip
        return why

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


def _finish(early: Any) -> None:
    """Wait for a pre-signed bundle's simulation that is no longer wanted (errors ignored: the
    transaction is never sent)."""
    future = getattr(early, "checked", None)
    if future is not None:
        future.exception()


def blame(settlement: Settlement, args: Sequence[Any]) -> list[str]:
    """The intents whose owner a revert's arguments name."""
    owners = {str(a).lower() for a in args if isinstance(a, str)}
    return [
        intent_id
        for order, intent_id in zip(settlement.orders, settlement.intent_ids, strict=True)
        if order.intent.owner.lower() in owners
    ]
