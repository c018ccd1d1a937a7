"""A dashboard with something to show: the local stack, a ``keeper run`` serving its dashboard,
one settled batch (three users: two net against each other, one goes through the pools), a
pending intent, and a drifted owner with a strategy. Used by the browser tests,
``make screenshots`` and ``make demo DASHBOARD=1``.

Alice's strategy is 50 % WETH / 50 % USDC with a 5 % band; she holds 10 WETH and 10,000 USDC
(75 / 25 at $3,000), sells 2 WETH to Bob in the batch, and has a second intent waiting (valid
only an hour later), so her page shows drift, history and a pending intent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PORTFOLIOS = {
    "alice": {"WETH": 10, "USDC": 10_000},
    "bob": {"USDC": 40_000},
    "carol": {"WBTC": 1},
}
TARGETS = {"WETH": 0.5, "USDC": 0.5}
BAND = 0.05


@dataclass
class DashboardScenario:
    stack: Any
    keeper: Any  # KeeperProcess
    url: str  # the dashboard
    strategy_file: Path
    state_file: Path
    reports_dir: Path
    data_dir: Path
    settled_ids: list[str]
    tx_hash: str
    pending_id: str

    @property
    def alice(self) -> Any:
        return self.stack.users[0]

    @property
    def bob(self) -> Any:
        return self.stack.users[1]


def write_strategy(folder: Path) -> Path:
    path = folder / "alice.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump(
            {
                "name": "alice-50-50",
                "preset": "custom",
                "band": BAND,
                "targets": TARGETS,
                "triggers": {"calendar": {"enabled": False}},
                "history": {"path": "prices.db"},
            }
        )
    )
    return path


#: annual volatility of the simulated closes (demo and screenshots only)
SIMULATED_VOL = {"WETH": 0.65, "USDC": 0.01}


def seed_history(strategy_file: Path, chain_id: int, today: int, days: int, seed: int = 7) -> None:
    """SIMULATED daily closes for the demo's risk panel: a seeded random walk per token ending
    at its reference price (the local chain is minutes old, so it has no history of its own).
    Only ``make demo DASHBOARD=1`` and ``make screenshots`` use it; docs/DASHBOARD.md says so."""
    import numpy as np

    from keeper.market.spec import TOKENS
    from keeper.strategy.live.history import PriceHistory

    history = PriceHistory(strategy_file.parent / "prices.db", chain_id)
    rng = np.random.default_rng(seed)
    reference = {t.symbol: t.usd_price for t in TOKENS if t.symbol in SIMULATED_VOL}
    paths = {}
    for symbol, vol in SIMULATED_VOL.items():
        steps = rng.normal(0.0, vol / np.sqrt(365), days)
        walk = np.exp(np.cumsum(steps[::-1]))[::-1]  # ends at 1 today
        paths[symbol] = reference[symbol] * walk / walk[-1]
    for i in range(days - 1):  # today's close comes from the chain
        day = today - (days - 1) + i
        history.record({s: float(p[i]) for s, p in paths.items()}, day * 86_400 + 43_200)


@contextmanager
def dashboard_scenario(
    workdir: Path, timeout: float = 120.0, simulated_days: int = 0
) -> Iterator[DashboardScenario]:
    """The scenario; ``simulated_days`` > 0 seeds that many days of SIMULATED closes
    (:func:`seed_history`) for the risk panel."""
    import requests

    from keeper.chain.anvil import free_port
    from keeper.daemon.daemon import wait_for
    from keeper.devstack.localstack import KeeperProcess, local_stack, quote, signed_intent
    from keeper.exceptions import ProcessError

    with local_stack(workdir, PORTFOLIOS, block_time=1.0) as stack:
        alice, bob, carol = stack.users
        strategy_file = write_strategy(workdir / "strategies")
        if simulated_days:
            latest = stack.w3.eth.get_block("latest")
            today = int(latest["timestamp"]) // 86_400
            seed_history(strategy_file, stack.chain_id, today, simulated_days)
        state_file = workdir / "strategies" / "alice.state.json"
        reports_dir = workdir / "reports"
        port = free_port()
        owners = [
            {"owner": alice.address, "strategy": str(strategy_file), "state": str(state_file)}
        ]
        env: dict[str, Any] = {
            "KEEPER_DASHBOARD__PORT": str(port),
            "KEEPER_DASHBOARD__OWNERS": json.dumps(owners),
            "KEEPER_DASHBOARD__REPORTS_DIR": str(reports_dir),
        }
        data_dir = workdir / "keeper"
        with KeeperProcess(stack, data_dir, **env) as keeper:
            start = int(stack.w3.eth.get_block("latest")["timestamp"]) + 4

            def intent(user: Any, sell: str, amount: float, buy: str, **kw: Any) -> dict:
                units = stack.market.token(sell).units(amount)
                minimum = quote(stack, sell, units, buy) * 98 // 100
                return signed_intent(stack, user, {sell: amount}, {buy: minimum}, **kw)

            bodies = [
                intent(alice, "WETH", 2, "USDC", nonce=1, valid_after=start),
                intent(bob, "USDC", 5_000, "WETH", nonce=1, valid_after=start),
                intent(carol, "WBTC", 0.2, "USDC", nonce=1, valid_after=start),
            ]
            ids = []
            for body in bodies:
                answer = requests.post(f"{keeper.url}/intents", json=body, timeout=10)
                if answer.status_code != 201:
                    raise ProcessError("keeper", f"intake refused an intent: {answer.text}")
                ids.append(answer.json()["id"])

            def records() -> list[dict]:
                return [requests.get(f"{keeper.url}/intents/{i}", timeout=5).json() for i in ids]

            if not wait_for(lambda: all(r["state"] == "settled" for r in records()), timeout):
                raise ProcessError("keeper", f"batch not settled: {records()}")
            tx_hash = records()[0]["tx_hash"]
            # recorded after the cycle that saw the settlement sent its next bundle
            dashboard = f"http://127.0.0.1:{port}"

            def recorded() -> bool:
                answer = requests.get(f"{dashboard}/api/settlements/{tx_hash}", timeout=5)
                return answer.status_code == 200

            if not wait_for(recorded, 30):
                raise ProcessError("keeper", f"settlement {tx_hash} not recorded")
            later = int(stack.w3.eth.get_block("latest")["timestamp"]) + 3600
            pending = intent(alice, "WETH", 1, "USDC", nonce=2, valid_after=later, ttl=7200)
            answer = requests.post(f"{keeper.url}/intents", json=pending, timeout=10)
            if answer.status_code != 201:
                raise ProcessError("keeper", f"intake refused the pending intent: {answer.text}")
            yield DashboardScenario(
                stack=stack,
                keeper=keeper,
                url=dashboard,
                strategy_file=strategy_file,
                state_file=state_file,
                reports_dir=reports_dir,
                data_dir=data_dir,
                settled_ids=ids,
                tx_hash=tx_hash,
                pending_id=answer.json()["id"],
            )


def main() -> int:
    """``make demo DASHBOARD=1``: the scenario, its dashboard URL, up until Ctrl-C."""
    import signal
    import sys
    import tempfile
    import threading

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print("starting the local market, the keeper and its dashboard; settling a first batch ...")
    try:
        with (
            tempfile.TemporaryDirectory(prefix="keeper-dashboard-") as tmp,
            dashboard_scenario(Path(tmp), simulated_days=120) as s,
        ):
            print(f"\ndashboard: {s.url}/")
            print(f"  portfolio: {s.url}/portfolio/{s.alice.address}")
            print(f"  settlement: {s.url}/settlements/{s.tx_hash}")
            print(f"  keeper: {s.url}/keeper")
            print(f"  API: {s.url}/api/docs")
            print("Ctrl-C stops everything.")
            sys.stdout.flush()
            threading.Event().wait()
    except KeyboardInterrupt:
        print("\nstopped; everything the demo started is stopped")
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
