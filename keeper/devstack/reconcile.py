"""The reconciliation of a fault run: what the store says against what the chain says.

Every intent the load signed is looked up in the keeper's store (its last state and how many
times it was recorded ``settled``) and on the chain (the executor's ``IntentSettled`` events for
its owner and nonce, and whether the nonce is spent). An intent is **lost** when the two
disagree (settled in one and not the other) or when a valid intent the keeper accepted is still
not in a final state after the faults stopped; **double** when it was settled more than once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

#: the final states an intent can end in
FINAL = ("settled", "expired", "failed", "cancelled")


@dataclass(frozen=True)
class SignedLoad:
    """One intent the load signed: its id (EIP-712 digest), owner, nonce, and what was done."""

    id: str
    owner: str
    nonce: int
    channel: str  # http, drop, cli
    valid: bool = True  # False: signed wrong on purpose (intake must refuse it)
    cancelled: bool = False  # the owner spent the nonce on-chain after submitting


@dataclass
class Reconciliation:
    states: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    lost: list[str] = field(default_factory=list)
    double: list[str] = field(default_factory=list)
    unsettled_valid: list[str] = field(default_factory=list)
    daemon_exits: int = 0
    exit_codes: list[int] = field(default_factory=list)
    kills: int = 0
    relay_restarts: int = 0
    availability: float = 0.0
    bundle_seconds: list[float] = field(default_factory=list)
    faults: dict[str, dict[str, int]] = field(default_factory=dict)
    minutes: float = 0.0
    signed: int = 0
    #: seconds from each kill -9 to the restarted keeper answering /health
    restart_seconds: list[float] = field(default_factory=list)
    run_seconds: float = 0.0

    @property
    def median_restart(self) -> float:
        ordered = sorted(self.restart_seconds)
        return ordered[len(ordered) // 2] if ordered else 0.0

    @property
    def availability_with_restarts(self) -> float:
        """The share of the run the keeper answered, its own restarts after kill -9 counted as
        down (``availability`` leaves them out: they are the load, not the keeper's doing)."""
        if not self.run_seconds:
            return self.availability
        down = sum(self.restart_seconds) + (1 - self.availability) * self.run_seconds
        return max(0.0, 1 - down / self.run_seconds)

    def percentile(self, q: float) -> float | None:
        if not self.bundle_seconds:
            return None
        ordered = sorted(self.bundle_seconds)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def render(self) -> str:
        p95, worst = self.percentile(0.95), max(self.bundle_seconds, default=None)
        lines = [
            f"fault run: {self.minutes:g} min of faults, {self.signed} intents signed",
            "store vs chain: "
            + " / ".join(f"{s} {self.states.get(s, 0)}" for s in FINAL)
            + f" / rejected {self.rejected} / lost {len(self.lost)} / double {len(self.double)}",
            f"valid intents not settled: {len(self.unsettled_valid)}",
            f"daemon exits: {self.daemon_exits} {self.exit_codes or ''} "
            f"(kill -9: {self.kills}, relay restarts: {self.relay_restarts})",
            f"availability: {100 * self.availability:.1f} % between restarts, "
            f"{100 * self.availability_with_restarts:.1f} % with the {len(self.restart_seconds)} "
            f"restarts after kill -9 counted as down "
            f"({sum(self.restart_seconds):.0f} s in all, median "
            f"{self.median_restart:.1f} s)",
            f"never accepted (the client gave up while the keeper was restarting): "
            f"{self.states.get('never accepted', 0)}",
            "block-to-bundle: "
            + (
                f"p95 {p95:.3f} s, max {worst:.3f} s over {len(self.bundle_seconds)} bundles"
                if p95 is not None and worst is not None
                else "no bundle sent"
            ),
        ]
        for proxy, counts in self.faults.items():
            shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != "requests")
            lines.append(f"{proxy} proxy: {counts.get('requests', 0)} requests; faults: {shown}")
        for label, ids in (("lost", self.lost), ("double", self.double)):
            lines.extend(f"  {label}: {i}" for i in ids[:20])
        return "\n".join(lines)


def settled_on_chain(w3: Any, executor: str, from_block: int) -> Counter[tuple[str, int]]:
    """How many ``IntentSettled`` events the executor emitted per (owner, nonce)."""
    from keeper.settlement.abi import executor_abi
    from keeper.settlement.outcome import SettledEvents

    events = SettledEvents(executor_abi())
    logs = w3.eth.get_logs(
        {"address": executor, "fromBlock": from_block, "toBlock": "latest",
         "topics": [events.topic]}
    )  # fmt: skip
    found = events.decode([dict(log) for log in logs], executor)
    return Counter((e.owner.lower(), e.nonce) for e in found)


def reconcile(
    load: list[SignedLoad], store: Any, w3: Any, executor: str, from_block: int
) -> Reconciliation:
    """Compare every signed intent's record in ``store`` with the chain."""
    from keeper.intents.states import IntentState
    from keeper.intents.store import UnknownIntentError

    result = Reconciliation(signed=len(load))
    on_chain = settled_on_chain(w3, executor, from_block)
    for item in load:
        try:
            record = store.get(item.id)
        except UnknownIntentError:
            if item.valid:
                # never accepted (the client gave up while the keeper was down): not lost
                # unless the chain settled it anyway
                if on_chain[(item.owner.lower(), item.nonce)]:
                    result.lost.append(f"{item.id} settled on-chain, unknown to the store")
                else:
                    result.states["never accepted"] += 1
            else:
                result.rejected += 1
            continue
        if not item.valid:
            result.lost.append(f"{item.id} signed wrong but accepted ({record.state.value})")
            continue
        state = record.state.value
        result.states[state] += 1
        stored = sum(1 for t in store.history(item.id) if t.target is IntentState.SETTLED)
        events = on_chain[(item.owner.lower(), item.nonce)]
        if stored > 1 or events > 1:
            result.double.append(f"{item.id}: {stored} settled records, {events} events")
        if (state == "settled") != (events == 1):
            result.lost.append(f"{item.id}: store says {state}, chain has {events} settlements")
        elif state not in FINAL:
            result.lost.append(f"{item.id}: still {state} after the faults stopped")
        if state != "settled" and not item.cancelled:
            result.unsettled_valid.append(f"{item.id}: {state}")
    return result
