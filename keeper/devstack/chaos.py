"""A fault run: the whole product on loopback under load while its node and relay misbehave.

``run_chaos(workdir, ChaosPlan(...))`` starts the local stack (anvil, the relay as a child
process, funded users), puts a :class:`~keeper.devstack.faultproxy.FaultProxy` in front of the
node the keeper reads and another in front of the relay it sends to, and runs a real
``keeper run`` behind them. For ``minutes`` it then:

* signs intents for the users and submits them over HTTP, through the drop folder and with
  ``keeper intent submit`` (each client retries while the keeper is down or answers 503); some
  are signed wrong on purpose (intake must refuse them) and some are cancelled on-chain by
  their owner after submitting;
* breaks a share of node and relay answers (cut bodies, dropped connections, 429/500/502,
  delays past the keeper's timeout), ``kill -9``s the keeper and restarts it, and restarts the
  relay process;
* counts every exit of the keeper that it did not cause (``daemon exits``) and probes its
  ``/health`` twice a second (availability, the time of its own restarts left out).

Then the faults stop, the keeper gets ``settle_timeout_s`` to finish, and the store is
reconciled with the chain (:mod:`keeper.devstack.reconcile`). ``make chaos`` runs it
(``CHAOS_MINUTES``, default 20); ``tests/integration/test_keeper_chaos.py`` runs a short one.
Everything listens on 127.0.0.1 and everything started is stopped.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keeper.devstack.faultproxy import FaultProxy
from keeper.devstack.localprocess import KeeperProcess
from keeper.devstack.reconcile import FINAL, Reconciliation, SignedLoad, reconcile

#: what the users hold and trade
TOKENS = ["WETH", "USDC", "DAI", "WBTC"]
#: the keeper's relay timeout in a fault run (its node timeout is twice this): a ``delay``
#: fault holds an answer past both
TIMEOUT_S = 2.0


@dataclass(frozen=True)
class ChaosPlan:
    minutes: float = 1.0
    users: int = 12
    node_fault_rate: float = 0.04
    relay_fault_rate: float = 0.11
    kill_every_s: float = 30.0  # 0: never
    relay_restart_every_s: float = 60.0  # 0: never
    submit_every_s: float = 0.5
    settle_timeout_s: float = 180.0
    invalid_share: float = 0.08
    cancel_share: float = 0.05
    seed: int = 15


class Load:
    """Signs and submits the users' intents by the three channels; remembers what it signed."""

    def __init__(self, stack: Any, keeper: KeeperProcess, drop_dir: Path, seed: int) -> None:
        from keeper.devstack.localstack import quote

        self.stack, self.keeper, self.drop_dir = stack, keeper, drop_dir
        self.random = random.Random(seed)
        self.signed: list[SignedLoad] = []
        self.nonces = {u.address: 1000 for u in stack.users}
        #: USD per whole token now (a user's minimum keeps 10% slack below its value)
        self.usd = {"USDC": 1.0}
        for symbol, whole in (("WETH", 1), ("DAI", 1000), ("WBTC", 0.1)):
            units = stack.market.token(symbol).units(whole)
            self.usd[symbol] = quote(stack, symbol, units, "USDC") / 10**6 / whole

    def step(self, invalid_share: float, cancel_share: float) -> None:
        from keeper.devstack.localstack import signed_intent
        from keeper.intents.signing import intent_digest
        from keeper.intents.validation import SignedIntent

        user = self.random.choice(self.stack.users)
        nonce = self.nonces[user.address]
        self.nonces[user.address] += 1
        # several pairs in one batch (their swaps interleave with direct legs: issue 15, #6)
        sell, buy = self.random.sample(TOKENS, 2)
        value = self.random.uniform(150, 1500)  # USD
        amount = round(value / self.usd[sell], 6 if sell != "WBTC" else 8)
        decimals = self.stack.market.token(buy).decimals
        minimum = int(value / self.usd[buy] * 0.9 * 10**decimals)
        body = signed_intent(self.stack, user, {sell: amount}, {buy: minimum}, nonce=nonce, ttl=900)
        valid = self.random.random() >= invalid_share
        if not valid:  # another key's signature: intake must refuse it naming the signature
            other = signed_intent(self.stack, user, {sell: amount}, {buy: minimum + 1}, nonce=nonce)
            body["signature"] = other["signature"]
        signed = SignedIntent.model_validate(body)
        intent_id = "0x" + intent_digest(signed.intent, self.stack.chain_id).hex()
        channel = self.random.choices(["http", "drop", "cli"], [6, 3, 1])[0]
        submitted = self._submit(channel, body, f"{user.address[2:10]}-{nonce}")
        cancelled = False
        if valid and submitted and self.random.random() < cancel_share:
            self._cancel(user, nonce)
            cancelled = True
        self.signed.append(SignedLoad(intent_id, user.address, nonce, channel, valid, cancelled))

    def _submit(self, channel: str, body: dict[str, Any], name: str) -> bool:
        if channel == "drop":  # written whole, then renamed: the keeper never reads half a file
            temporary = self.drop_dir / f".{name}.part"
            temporary.write_text(json.dumps(body))
            temporary.rename(self.drop_dir / f"{name}.json")
            return True
        for _ in range(40):  # the client retries while the keeper is down or busy
            outcome = self._post(body) if channel == "http" else self._cli(body, name)
            if outcome != "retry":
                return outcome == "ok"
            time.sleep(0.5)
        return False

    def _post(self, body: dict[str, Any]) -> str:
        import requests

        try:
            answer = requests.post(f"{self.keeper.url}/intents", json=body, timeout=10)
        except requests.RequestException:
            return "retry"
        if answer.status_code in (200, 201):
            return "ok"
        return "retry" if answer.status_code == 503 else "refused"

    def _cli(self, body: dict[str, Any], name: str) -> str:
        from click.testing import CliRunner

        from keeper.intents.cli import intent  # `keeper intent`, as a user runs it

        path = self.drop_dir.parent / f"{name}.cli.json"
        path.write_text(json.dumps(body))
        result = CliRunner().invoke(intent, ["submit", str(path), "--url", self.keeper.url])
        if result.exit_code == 0:
            return "ok"
        return "refused" if "rejected:" in result.output else "retry"

    def _cancel(self, user: Any, nonce: int) -> None:
        """``invalidateNonces`` from the owner's own account (a public transaction)."""
        w3 = self.stack.w3
        executor = w3.eth.contract(address=self.stack.executor, abi=_INVALIDATE_ABI)
        tx = executor.functions.invalidateNonces(nonce >> 8, 1 << (nonce & 255)).build_transaction(
            {"from": user.address, "nonce": w3.eth.get_transaction_count(user.address, "pending"),
             "gas": 100_000, "maxFeePerGas": 200 * 10**9, "maxPriorityFeePerGas": 10**9,
             "chainId": self.stack.chain_id}
        )  # fmt: skip
        w3.eth.send_raw_transaction(user.sign_transaction(tx).raw_transaction)


_INVALIDATE_ABI = [
    {
        "name": "invalidateNonces",
        "type": "function",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "w", "type": "uint256"}, {"name": "m", "type": "uint256"}],
        "outputs": [],
    }
]


class Supervisor:
    """Watches the keeper: restarts it after an exit it did not cause (counted), kills it on
    schedule, restarts the relay, and probes ``/health`` for the availability figure."""

    def __init__(self, keeper: KeeperProcess, relay: Any, result: Reconciliation) -> None:
        self.keeper, self.relay, self.result = keeper, relay, result
        self.up = self.probes = 0

    def restart_keeper(self) -> None:
        self.keeper.start(timeout=180)

    def check(self) -> None:
        import requests

        proc = self.keeper.proc
        if proc is not None and proc.poll() is not None:
            self.result.daemon_exits += 1
            self.result.exit_codes.append(int(proc.returncode))
            self.keeper.proc = None
            self.restart_keeper()
        self.probes += 1
        with suppress(requests.RequestException):
            self.up += requests.get(f"{self.keeper.url}/health", timeout=1).ok

    def kill(self) -> None:
        killed = time.monotonic()
        self.keeper.kill()
        self.result.kills += 1
        self.restart_keeper()
        self.result.restart_seconds.append(time.monotonic() - killed)

    def restart_relay(self) -> None:
        self.relay.__exit__()
        time.sleep(1.0)
        self.relay.__enter__()
        self.result.relay_restarts += 1


def run_chaos(workdir: Path, plan: ChaosPlan, say: Callable[[str], None] = print) -> Reconciliation:
    """Run the fault load of ``plan``; returns the reconciliation of store and chain."""
    from keeper.devstack.localstack import local_stack
    from keeper.intents.store import IntentStore

    portfolios = {
        f"user{i}": {"WETH": 40, "USDC": 120_000, "DAI": 120_000, "WBTC": 2}
        for i in range(plan.users)
    }
    result = Reconciliation(minutes=plan.minutes)
    with ExitStack() as exits:
        say(f"starting the local stack with {plan.users} users ...")
        stack = exits.enter_context(
            local_stack(workdir, portfolios, block_time=1.0, relay_process=True)
        )
        start_block = int(stack.w3.eth.block_number)
        node = exits.enter_context(
            FaultProxy(stack.relay.url, plan.node_fault_rate, delay_s=2 * TIMEOUT_S + 1,
                       seed=plan.seed)
        )  # fmt: skip
        relay = exits.enter_context(
            FaultProxy(stack.relay.url, plan.relay_fault_rate, delay_s=TIMEOUT_S + 1,
                       seed=plan.seed + 1)
        )  # fmt: skip
        drop_dir = workdir / "drop"
        drop_dir.mkdir(parents=True, exist_ok=True)
        keeper = KeeperProcess(
            stack, workdir / "keeper", rpc_url=node.url,
            KEEPER_RELAY__URLS=f'["{relay.url}"]',
            KEEPER_RELAY__TIMEOUT_S=str(TIMEOUT_S),
            KEEPER_INTAKE__DROP_DIR=str(drop_dir),
        )  # fmt: skip
        exits.callback(keeper.stop)
        supervisor = Supervisor(keeper, stack.relay, result)
        supervisor.restart_keeper()
        load = Load(stack, keeper, drop_dir, plan.seed)
        say(f"faults on for {plan.minutes:g} min (node {plan.node_fault_rate:.0%}, "
            f"relay {plan.relay_fault_rate:.0%} of requests) ...")  # fmt: skip
        started = time.monotonic()
        end = started + plan.minutes * 60
        next_kill = started + (plan.kill_every_s or float("inf"))
        next_relay = started + (plan.relay_restart_every_s or float("inf"))
        next_submit = started
        while (now := time.monotonic()) < end:
            supervisor.check()
            if now >= next_submit:
                load.step(plan.invalid_share, plan.cancel_share)
                next_submit = now + plan.submit_every_s
            if now >= next_kill:
                supervisor.kill()
                next_kill = time.monotonic() + plan.kill_every_s
            if now >= next_relay:
                supervisor.restart_relay()
                next_relay = time.monotonic() + plan.relay_restart_every_s
            time.sleep(0.5)
        node.clear()
        relay.clear()
        say(f"faults off; waiting up to {plan.settle_timeout_s:g} s for the keeper to finish ...")
        store = IntentStore(f"sqlite:///{keeper.data_dir / 'intents.db'}", "chaos")
        exits.callback(store.close)
        settle_end = time.monotonic() + plan.settle_timeout_s
        while time.monotonic() < settle_end:
            supervisor.check()
            if not any(drop_dir.glob("*.json")) and _all_final(store, load.signed):
                break
            time.sleep(1.0)
        result.availability = supervisor.up / max(supervisor.probes, 1)
        result.run_seconds = time.monotonic() - started
        result.faults = {"node": dict(node.counts), "relay": dict(relay.counts)}
        keeper.stop()
        checked = reconcile(load.signed, store, stack.w3, stack.executor, start_block)
        for name in ("states", "rejected", "lost", "double", "unsettled_valid", "signed"):
            setattr(result, name, getattr(checked, name))
        result.bundle_seconds = bundle_latencies(workdir / "keeper" / "keeper.log")
    return result


def _all_final(store: Any, signed: list[SignedLoad]) -> bool:
    from keeper.intents.store import UnknownIntentError

    for item in signed:
        if not item.valid:
            continue
        try:
            if store.get(item.id).state.value not in FINAL:
                return False
        except UnknownIntentError:
            continue
    return True


def bundle_latencies(log: Path) -> list[float]:
    """Block-to-bundle seconds of every cycle that sent a bundle, from the keeper's JSON log."""
    found = []
    for line in log.read_text().splitlines():
        if '"bundle_seconds"' not in line:
            continue
        try:
            seconds = json.loads(line).get("report", {}).get("bundle_seconds")
        except ValueError:
            continue
        if seconds is not None:
            found.append(float(seconds))
    return found


def main() -> None:
    """``python -m keeper.devstack.chaos [minutes]`` (``make chaos``, CHAOS_MINUTES)."""
    import os
    import sys
    import tempfile

    minutes = float(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CHAOS_MINUTES", 20))
    plan = ChaosPlan(minutes=minutes)
    with tempfile.TemporaryDirectory(prefix="chaos-", dir=os.environ.get("TMPDIR")) as tmp:
        result = run_chaos(Path(tmp), plan)
        print(result.render())
        kept = Path(os.environ.get("CHAOS_LOG", "chaos-keeper.log"))
        kept.write_text((Path(tmp) / "keeper" / "keeper.log").read_text())
        print(f"keeper log: {kept}")
    bad = result.lost or result.double or result.daemon_exits or result.unsettled_valid
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
