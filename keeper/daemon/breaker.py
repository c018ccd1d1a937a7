"""Failure budget and circuit breaker of the keeper daemon.

Two kinds of trouble, told apart because only one of them is the keeper's to stop for:

* **Outages** — the node or a relay does not answer, or answers with something broken (a
  dropped connection, a cut body, HTTP 429/5xx, a timeout). Each broken answer is counted once
  (the keeper's own retries included: web3's are turned off) and the work is retried with
  backoff. An outage halts the keeper only when it has lasted ``max_outage_s`` without a single
  good answer from that dependency (a relay URL that never answers is a configuration to fix,
  not a hiccup); one good answer ends it, so an outage that is over never halts anybody.
* **Harm** — things that cost gas or show the keeper's view of the chain is wrong: a settlement
  that reverted on-chain, a relay simulation that disagrees with the node's, a cycle that failed
  in the keeper's own code. These spend the failure budget: more than ``budget`` within
  ``window_s`` halts the keeper.

A broken invariant (a settlement delivered less than simulated, an intent moved twice) trips
the breaker at once. The budget and the outages' start times are kept in a small JSON state
file (``<data_dir>/breaker.json``), so a keeper that is killed and restarted in a loop does not
start each life with a fresh budget.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from keeper.exceptions import KeeperError

log = logging.getLogger("keeper.daemon")

#: failure kinds that are another party's outage (counted, retried, never spend the budget)
OUTAGE_KINDS = {"rpc": "node", "relay": "relay", "intake": "node"}


def failure_kind(err: BaseException) -> str:
    """The breaker's kind for an error that failed a cycle: ``rpc`` (the node's answer was
    broken), ``relay`` (no relay answered), ``cycle`` (a deliberate keeper error: spends the
    budget) or ``bug`` (nothing foresaw it: spends the budget)."""
    from keeper.relay.exceptions import NoRelayAcceptedError, RelayUnavailableError
    from keeper.routing.exceptions import SnapshotError
    from keeper.rpc import RpcError, transient_errors

    if isinstance(err, RelayUnavailableError | NoRelayAcceptedError):
        return "relay"
    if isinstance(err, RpcError | SnapshotError):
        return "rpc"
    if isinstance(err, KeeperError):
        return "cycle"
    if isinstance(err, transient_errors()):
        return "rpc"
    return "bug"


class InvariantViolationError(KeeperError):
    """Something that must never happen happened; the keeper halts."""

    def __init__(self, invariant: str, detail: str) -> None:
        self.invariant = invariant
        self.detail = detail
        super().__init__(f"invariant broken: {invariant}: {detail}")


class KeeperHaltedError(KeeperError):
    """The circuit breaker is open; nothing more is sent until an operator restarts."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"keeper halted: {reason}")


class CircuitBreaker:
    """Counts harm in a sliding window, follows outages, and opens on a broken invariant.

    Args:
        budget: harmful failures tolerated within ``window_s``; the next one opens the breaker.
        window_s: length of the sliding window in seconds.
        clock: wall clock (seconds since the epoch: the state file outlives the process).
        max_outage_s: an outage of the node or a relay that lasts this long opens the breaker.
        state_file: where the budget and outages are kept across restarts (None: memory only).
    """

    def __init__(
        self,
        budget: int,
        window_s: float,
        clock: Callable[[], float] = time.time,
        *,
        max_outage_s: float = 600.0,
        state_file: Path | None = None,
    ) -> None:
        self.budget = budget
        self.window_s = window_s
        self.clock = clock
        self.max_outage_s = max_outage_s
        self.state_file = state_file
        self._failures: deque[tuple[float, str]] = deque()
        #: dependency ("node", "relay") -> when its current outage began
        self.outages: dict[str, float] = {}
        #: every failure counted, by kind (outages too): what /health and the reports show
        self.counts: dict[str, int] = {}
        self.reason: str | None = None
        self._load()

    @property
    def halted(self) -> bool:
        return self.reason is not None

    @property
    def recent_failures(self) -> int:
        """Harmful failures within the window (outages are not in it)."""
        self._forget_old()
        return len(self._failures)

    def record_failure(self, kind: str, detail: str) -> None:
        """Count one failure: an outage of a dependency, or harm that spends the budget."""
        self.counts[kind] = self.counts.get(kind, 0) + 1
        now = self.clock()
        dependency = OUTAGE_KINDS.get(kind)
        if dependency is not None:
            since = self.outages.setdefault(dependency, now)
            if since == now:
                self._save()
            if now - since >= self.max_outage_s:
                self.trip(
                    f"the {dependency} has not answered for {now - since:.0f}s "
                    f"(max_outage_s {self.max_outage_s:g}); last: {kind}: {detail}"
                )
            return
        self._failures.append((now, f"{kind}: {detail}"))
        self._forget_old()
        self._save()
        if len(self._failures) > self.budget:
            last = self._failures[-1][1]
            self.trip(
                f"{len(self._failures)} failures within {self.window_s:g}s "
                f"(budget {self.budget}); last: {last}"
            )

    def record_success(self, dependency: str) -> None:
        """A good answer from ``dependency`` ("node", "relay"): its outage, if any, is over."""
        since = self.outages.pop(dependency, None)
        if since is not None:
            log.info(
                "%s answers again after %.1fs", dependency, self.clock() - since,
                extra={"dependency": dependency},
            )  # fmt: skip
            self._save()

    def outage_seconds(self, dependency: str) -> float:
        """How long ``dependency`` has been failing (0 when it answers)."""
        since = self.outages.get(dependency)
        return 0.0 if since is None else self.clock() - since

    def trip(self, reason: str) -> None:
        """Open the breaker deliberately (first reason wins)."""
        if self.reason is None:
            self.reason = reason

    def check(self) -> None:
        """Raise :class:`KeeperHaltedError` when open."""
        if self.reason is not None:
            raise KeeperHaltedError(self.reason)

    def _forget_old(self) -> None:
        horizon = self.clock() - self.window_s
        while self._failures and self._failures[0][0] < horizon:
            self._failures.popleft()

    # -- the state file ---------------------------------------------------------------------
    def _load(self) -> None:
        if self.state_file is None or not self.state_file.exists():
            return
        try:
            data = json.loads(self.state_file.read_text())
            failures = [(float(t), str(d)) for t, d in data.get("failures", [])]
            outages = {str(k): float(v) for k, v in data.get("outages", {}).items()}
        except (ValueError, TypeError, AttributeError, OSError) as err:
            # A torn or hand-edited file: start afresh rather than refuse to run.
            log.warning("breaker state %s unreadable (%s): starting afresh", self.state_file, err)
            return
        self._failures.extend(sorted(failures))
        self.outages.update(outages)
        self._forget_old()

    def _save(self) -> None:
        if self.state_file is None:
            return
        data = {"failures": list(self._failures), "outages": self.outages}
        temporary = self.state_file.with_suffix(".tmp")
        try:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(data))
            os.replace(temporary, self.state_file)  # atomic: a kill never leaves half a file
        except OSError as err:
            log.warning("breaker state %s not saved: %s", self.state_file, err)
