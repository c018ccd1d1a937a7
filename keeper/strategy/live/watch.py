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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from keeper.strategy.config import StrategyConfig, load_strategy
from keeper.strategy.controls import ControlStore
from keeper.strategy.engine import after_proposal
from keeper.strategy.live.alerts import Alert, AlertDispatcher, AlertKind, alert_kind
from keeper.strategy.live.evaluation import gather_market_data, history_for, propose_live

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


def nonce_for(timestamp: int, offset: int = 0) -> int:
    """A fresh unordered nonce: chain time in seconds times 256 (room for split intents)."""
    return (timestamp << 8) + offset


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
            nonce=nonce_for(stamp),
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
        last = memory.last_proposal.get(key)
        if last is not None and last[0] == kind.value and stamp - last[1] < self.realert_s:
            return
        payload = [json.loads(i.to_json()) for i in result.proposal.intents]
        user.outbox.parent.mkdir(parents=True, exist_ok=True)
        user.outbox.write_text(json.dumps(payload, indent=2))
        memory.last_proposal[key] = (kind.value, float(stamp))
        message = "\n".join([ev.explanation, *result.proposal.summary()[1:]])
        data_out = {"intents": payload, "outbox": str(user.outbox)}
        self._send(Alert(kind=kind, owner=user.owner, message=message, data=data_out))

    def _completions(self, user: WatchedUser, memory: WatchMemory) -> None:
        import requests

        key = user.owner.lower()
        done = set(memory.reported.get(key, []))
        answer = requests.get(
            f"{self.keeper_url}/intents", params={"owner": user.owner}, timeout=10
        )
        answer.raise_for_status()
        for record in answer.json()["intents"]:
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
