"""``keeper strategy watch``: the strategy around the clock, with its alerts.

Each round, for every watched user: record a price sample, evaluate the strategy and

* on a rebalance decision, write the unsigned intents to the user's outbox file and send an
  alert whose kind follows the signals that fired: **risk** (drawdown protection, stop-loss,
  emergency exit), **opportunity** (a better yield, a large price move), else **scheduled**
  (calendar, drift, manual). The same kind of proposal is not re-sent within ``realert_s``.
* on "no action" when a calendar rebalance was due, send a **scheduled** notice with the reason;
* poll the keeper's intake (``GET /intents?owner=…``) and send a **completion** confirmation
  once per intent that settled (with its transaction), and a **notice** once per intent that
  failed, expired or was cancelled (with the reason).

The keeper daemon is not touched: completions come from its public HTTP API. What the watcher
has already reported is kept in a small JSON file, so a restart does not repeat alerts.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from keeper.strategy.config import StrategyConfig, load_strategy
from keeper.strategy.controls import ControlStore
from keeper.strategy.engine import after_proposal
from keeper.strategy.live.alerts import (
    Alert,
    AlertDispatcher,
    AlertKind,
    alert_kind,
    risk_reason,
)
from keeper.strategy.live.evaluation import gather_market_data, history_for, propose_live
from keeper.strategy.live.nonces import assign_nonces, proposal_file

#: intents that ended badly are reported as notices
_BAD_ENDS = ("failed", "expired", "cancelled")


class WatchMemory(BaseModel):
    """What the watcher already reported (per owner, lower-case address)."""

    reported: dict[str, list[str]] = Field(default_factory=dict)
    last_proposal: dict[str, tuple[str, float]] = Field(default_factory=dict)


@dataclass
class WatchedUser:
    owner: str
    strategy_file: Path
    state_file: Path
    outbox: Path

    @property
    def config(self) -> StrategyConfig:
        return load_strategy(self.strategy_file)


@dataclass
class Watcher:
    w3: Any
    market: Any
    executor: str
    users: list[WatchedUser]
    alerts: AlertDispatcher
    memory_file: Path
    keeper_url: str | None = None
    history_file: str | None = None
    realert_s: float = 6 * 3600
    sent: list[Alert] = field(default_factory=list)
    #: the keeper store's ledger (keeper.intents.ledger.Ledger): every round's decision or
    #: proposal is journaled there with its time, for the dashboard and reports; None = not
    journal: Any = None

    # -- memory ---------------------------------------------------------------------------
    def _load(self) -> WatchMemory:
        if self.memory_file.exists():
            return WatchMemory.model_validate_json(self.memory_file.read_text())
        return WatchMemory()

    def _save(self, memory: WatchMemory) -> None:
        self.memory_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.memory_file.parent, prefix=".watch-")
        with os.fdopen(fd, "w") as fh:
            fh.write(memory.model_dump_json(indent=2))
        os.replace(tmp, self.memory_file)

    def _send(self, alert: Alert) -> None:
        self.alerts.send(alert)
        self.sent.append(alert)

    # -- one round ------------------------------------------------------------------------
    def round(self) -> list[Alert]:
        start = len(self.sent)
        memory = self._load()
        for user in self.users:
            self._evaluate(user, memory)
            if self.keeper_url:
                self._completions(user, memory)
        self._save(memory)
        return self.sent[start:]

    def _evaluate(self, user: WatchedUser, memory: WatchMemory) -> None:
        cfg = user.config
        base = user.strategy_file.parent
        chain_id = int(self.w3.eth.chain_id)
        history = history_for(cfg, base, self.history_file, chain_id)
        data = gather_market_data(self.w3, self.market, cfg, base, history)
        store = ControlStore(user.state_file)
        state = store.load()
        block = self.w3.eth.get_block("latest")
        stamp = int(block["timestamp"])
        now = datetime.fromtimestamp(stamp, UTC)
        result = propose_live(
            self.w3,
            self.market,
            cfg,
            user.owner,
            self.executor,
            state,
            nonce=0,  # the real nonces are picked below, once the proposal is known
            market_data=data,
        )
        ev = result.evaluation
        signals = ev.decision.signals
        key = user.owner.lower()
        if self.journal is not None:
            kind = "proposal" if result.proposal is not None else "decision"
            self.journal.add_event(user.owner, kind, ev.explanation, {"block": stamp})
        if result.proposal is None:
            store.save(ev.state)
            due = [s for s in signals if s.fired and s.trigger == "calendar"]
            if due:
                self._send(
                    Alert(kind=AlertKind.SCHEDULED, owner=user.owner, message=ev.explanation)
                )
            return
        kind = AlertKind.RISK if state.exit_to else alert_kind(signals)
        store.save(after_proposal(ev.state, now, cfg))
        proposal = assign_nonces(self.w3, self.executor, result.proposal, self._pending(user.owner))
        last = memory.last_proposal.get(key)
        if last is not None and last[0] == kind.value and stamp - last[1] < self.realert_s:
            return
        document = proposal_file(chain_id, proposal, result.portfolio)
        payload = [json.loads(i.to_json()) for i in proposal.intents]
        user.outbox.parent.mkdir(parents=True, exist_ok=True)
        user.outbox.write_text(document.to_json() + "\n")
        memory.last_proposal[key] = (kind.value, float(stamp))
        reason = risk_reason(signals) if kind is AlertKind.RISK and not state.exit_to else None
        head = f"{reason}; {ev.explanation}" if reason else ev.explanation
        message = "\n".join([head, *proposal.summary()[1:]])
        data_out = {"intents": payload, "outbox": str(user.outbox)}
        self._send(Alert(kind=kind, owner=user.owner, message=message, data=data_out))

    def _pending(self, owner: str) -> set[int]:
        """Nonces of ``owner``'s intents the keeper still holds (none known without it)."""
        from keeper.intents.cli_support import pending_nonces

        return pending_nonces(self.keeper_url, owner) if self.keeper_url else set()

    def _completions(self, user: WatchedUser, memory: WatchMemory) -> None:
        from keeper.intents.cli_support import intake_get

        key = user.owner.lower()
        done = set(memory.reported.get(key, []))
        assert self.keeper_url is not None
        answer = intake_get(self.keeper_url, "/intents", {"owner": user.owner}, "--keeper-url")
        for record in answer["intents"]:
            intent_id, state = record["id"], record["state"]
            if intent_id in done or state not in ("settled", *_BAD_ENDS):
                continue
            if state == "settled":
                message = f"rebalance intent {intent_id[:10]}… settled in tx {record['tx_hash']}"
                alert = Alert(
                    kind=AlertKind.COMPLETION,
                    owner=user.owner,
                    message=message,
                    data={"id": intent_id, "tx_hash": record["tx_hash"]},
                )
            else:
                reason = record.get("reason") or "no reason recorded"
                alert = Alert(
                    kind=AlertKind.NOTICE,
                    owner=user.owner,
                    message=f"rebalance intent {intent_id[:10]}… {state}: {reason}",
                    data={"id": intent_id, "state": state},
                )
            self._send(alert)
            done.add(intent_id)
        memory.reported[key] = sorted(done)


def run_rounds(
    watcher: Watcher,
    echo: Callable[[str], None],
    interval: float,
    rounds: int | None = None,
    max_backoff: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run ``watcher`` round after round (``rounds`` of them, or until Ctrl-C): one heartbeat
    line per round, one line per alert; a failed round (the node or keeper unreachable) is one
    line and the next try waits twice as long, up to ``max_backoff``. Returns the rounds run."""
    from web3.exceptions import Web3Exception

    from keeper.exceptions import KeeperError

    done = failures = 0
    try:
        while rounds is None or done < rounds:
            stamp = datetime.now(UTC).strftime("%H:%M:%S")
            wait = interval
            try:
                alerts = watcher.round()
            except (KeeperError, OSError, ValueError, Web3Exception) as err:
                failures += 1
                wait = min(max_backoff, interval * 2**failures)
                echo(f"{stamp} round {done + 1} failed: {err}; retrying in {wait:.0f} s")
            else:
                failures = 0
                for alert in alerts:
                    echo(f"[{alert.kind.value}] {alert.message.splitlines()[0]}")
                echo(f"{stamp} round {done + 1}: {len(alerts)} alert(s); next in {interval:g} s")
            done += 1
            if rounds is None or done < rounds:
                sleep(wait)
    except KeyboardInterrupt:
        echo(f"stopped after {done} round(s) (Ctrl-C)")
        return done
    echo(f"stopped after {done} round(s)")
    return done
