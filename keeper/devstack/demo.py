"""``make demo``: the main job end to end on the embedded local market.

Starts the seeded market (anvil) and the local Flashbots-style relay, deploys the executor,
gives four users drifted portfolios, has each sign one rebalance intent back to the target
weights (limits quoted by the routing engine), runs the keeper (a real ``keeper run`` process)
until every intent is settled in one private bundle, prints a before/after report per user,
and stops everything — also on Ctrl-C, SIGTERM or failure.
"""

from __future__ import annotations

import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

TARGET = {"WETH": 0.40, "WBTC": 0.30, "USDC": 0.30}
#: whole tokens; each portfolio has drifted away from TARGET in its own direction
PORTFOLIOS = {
    "alice": {"WETH": 30, "WBTC": 0.5, "USDC": 20_000},  # ETH ran up
    "bob": {"WETH": 3, "WBTC": 0.3, "USDC": 80_000},  # sitting on cash
    "carol": {"WETH": 4, "WBTC": 1.6, "USDC": 15_000},  # BTC ran up
    "dave": {"WETH": 12, "WBTC": 0.1, "USDC": 45_000},  # short BTC
}
SLIPPAGE = 0.01


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _balances(stack: Any, holder: str) -> dict[str, int]:
    from keeper.market.funding import balance_of

    return {s: balance_of(stack.w3, stack.market.token(s).address, holder) for s in TARGET}


def _values(stack: Any, balances: dict[str, int]) -> dict[str, float]:
    tokens = {s: stack.market.token(s) for s in balances}
    return {s: b / 10 ** tokens[s].decimals * tokens[s].usd_price for s, b in balances.items()}


Leg = tuple[str, int, str]  # sell symbol, sell base units, buy symbol


def plan_intent(stack: Any, user: Any, nonce: int, valid_after: int) -> tuple[dict, list[Leg]]:
    """The user's signed intent back to TARGET: (submission body, its pairwise legs)."""
    from keeper.devstack.localstack import quote, signed_intent
    from keeper.strategy.proposals import pair_trades

    values = _values(stack, _balances(stack, user.address))
    total = sum(values.values())
    trades = {s: TARGET[s] * total - v for s, v in values.items()}
    sells: dict[str, float] = {}
    buys: dict[str, int] = {}
    legs: list[Leg] = []
    for sell, buy, usd in pair_trades({s: usd for s, usd in trades.items() if abs(usd) > 50}):
        token = stack.market.token(sell)
        whole = round(usd / token.usd_price, min(token.decimals, 8))
        sells[sell] = sells.get(sell, 0.0) + whole
        expected = quote(stack, sell, token.units(whole), buy)
        buys[buy] = buys.get(buy, 0) + int(expected * (1 - SLIPPAGE))
        legs.append((sell, token.units(whole), buy))
    body = signed_intent(stack, user, sells, buys, nonce=nonce, valid_after=valid_after)
    return body, legs


def _weights(values: dict[str, float]) -> str:
    total = sum(values.values()) or 1.0
    return " / ".join(f"{s} {100 * v / total:4.1f}%" for s, v in values.items())


def _amounts(stack: Any, delta: dict[str, int]) -> str:
    parts = []
    for symbol, amount in delta.items():
        if amount:
            token = stack.market.token(symbol)
            parts.append(f"{amount / 10**token.decimals:+,.4f} {symbol}")
    return ", ".join(parts)


def _usd(stack: Any, symbol: str, units: int) -> float:
    token = stack.market.token(symbol)
    return units / 10**token.decimals * token.usd_price


def report(stack: Any, before: dict, after: dict, legs: dict, baseline: dict, tx: Any) -> None:
    """Per user: weights, amounts, gas and total cost (gas + LP fees + price impact, against
    the reference prices) of the batch vs one Router02 transaction per leg."""
    gas_used, gas_price = int(tx["gasUsed"]), int(tx["effectiveGasPrice"])
    eth_usd = stack.market.token("WETH").usd_price
    usd_per_gas = gas_price / 1e18 * eth_usd
    total_legs = sum(len(v) for v in legs.values())
    leg_gas = stack.router02_swap_gas
    print(f"\nsettlement tx {tx['transactionHash'].hex()} in block {tx['blockNumber']}: "
          f"{gas_used:,} gas at {gas_price / 1e9:.2f} gwei (ETH = ${eth_usd:,.0f}); "
          f"one Router02 swap = {leg_gas:,} gas (measured)")  # fmt: skip
    direct, routed = direct_legs(stack, tx["transactionHash"])
    print(f"sell legs: {direct} straight to a buyer of the batch (direct), {routed} through "
          "the executor")  # fmt: skip
    print(f"target weights: {_weights(dict(TARGET))}\n")
    totals = [0.0, 0.0]
    for name in legs:
        delta = {s: after[name][s] - before[name][s] for s in TARGET}
        gas_share = gas_used * len(legs[name]) / total_legs
        # value given up in trading at reference prices (negative: netting beat the pools)
        slip = -sum(_usd(stack, s, d) for s, d in delta.items())
        batch = gas_share * usd_per_gas + slip
        alone = len(legs[name]) * leg_gas * usd_per_gas + baseline[name]
        totals[0] += batch
        totals[1] += alone
        print(f"{name:>6}  before {_weights(_values(stack, before[name]))}")
        print(f"{'':>6}  after  {_weights(_values(stack, after[name]))}")
        print(f"{'':>6}  traded {_amounts(stack, delta)}")
        print(f"{'':>6}  cost   batch ${batch:7.2f} (gas {gas_share:,.0f} = "
              f"${gas_share * usd_per_gas:.2f})  vs {len(legs[name])} Router02 tx "
              f"${alone:7.2f} (gas {len(legs[name]) * leg_gas:,}): saves ${alone - batch:,.2f}"
              "\n")  # fmt: skip
    print(f"total cost (gas + LP fees + price impact): batch ${totals[0]:,.2f} vs one Router02 "
          f"transaction per leg ${totals[1]:,.2f}: {100 * (1 - totals[0] / totals[1]):.0f}% less; "
          f"gas alone {gas_used:,} vs {total_legs * leg_gas:,} "
          f"({100 * (1 - gas_used / (total_legs * leg_gas)):.0f}% less)")  # fmt: skip


def fair_savings(data_dir: Path, tx_hashes: set[str]) -> None:
    """The headline, from the keeper's own record of each settlement (docs/DASHBOARD.md): the
    batch against one transaction per user through the keeper's own optimal router, same
    pools, same block; the per-leg Router02 comparison follows as the second line."""
    from keeper.daemon.daemon import wait_for
    from keeper.intents.store import IntentStore

    store = IntentStore(f"sqlite:///{data_dir / 'intents.db'}", "demo-reader")
    try:
        # recorded at the end of the keeper cycle that saw the receipt
        wait_for(lambda: all(store.ledger.settlement(h) for h in tx_hashes), timeout=30)
        fills = [f for h in tx_hashes if (s := store.ledger.settlement(h)) for f in s.fills]
    finally:
        store.close()
    if not fills:
        print("(the keeper has not recorded the settlement: no fair savings figure)")
        return
    batch = sum(f.cost_usd for f in fills)
    alone = sum(f.own_cost_usd for f in fills)
    naive = sum(f.router02_cost_usd for f in fills)
    print(f"\nsavings vs one transaction per user through our own router (same pools, same "
          f"block): ${alone - batch:,.2f} (batch ${batch:,.2f} vs alone ${alone:,.2f}, "
          f"{100 * (1 - batch / alone) if alone > 0 else 0:.0f}% less)")  # fmt: skip
    print(f"second line, vs one Uniswap V2 Router02 transaction per leg: ${naive - batch:,.2f} "
          "(mostly V2 price impact; details below)")  # fmt: skip


def direct_legs(stack: Any, tx_hash: Any) -> tuple[int, int]:
    """(direct, through the executor) sell legs of a settlement transaction (its calldata)."""
    from eth_abi import decode

    from keeper.settlement.abi import INTERACTION_TYPE, SETTLE_SELECTOR, decode_orders

    data = bytes(stack.w3.eth.get_transaction(tx_hash)["input"])
    if data[:4] != SETTLE_SELECTOR:
        return 0, 0
    packed, _ = decode(["bytes", f"{INTERACTION_TYPE}[]"], data[4:])
    orders = decode_orders(packed, stack.executor)
    legs = [o.execution.destination(j) for o in orders for j in range(len(o.intent.sells))]
    direct = sum(to is not None for to in legs)
    return direct, len(legs) - direct


def baseline_cost(stack: Any, legs: list[Leg]) -> float:
    """USD given up (LP fees + price impact) if each leg were its own Router02 swap now."""
    from keeper.devstack.localstack import router02_output

    return sum(
        _usd(stack, sell, units) - _usd(stack, buy, router02_output(stack, sell, units, buy))
        for sell, units, buy in legs
    )


def run(workdir: Path) -> int:
    import requests

    from keeper.daemon.daemon import wait_for
    from keeper.devstack.localstack import KeeperProcess, local_stack

    names = list(PORTFOLIOS)
    print("starting the seeded market (anvil), deploying the executor, funding users ...")
    with local_stack(workdir, PORTFOLIOS, block_time=1.0) as stack:
        print(f"market on {stack.anvil.url} (chain id 1), local relay on {stack.relay.url}, "
              f"executor {stack.executor}")  # fmt: skip
        users = dict(zip(names, stack.users, strict=True))
        before = {n: _balances(stack, u.address) for n, u in users.items()}
        with KeeperProcess(stack, workdir / "keeper") as keeper:
            print(f"keeper running (pid {keeper.proc.pid}), intake {keeper.url}")
            start = int(stack.w3.eth.get_block("latest")["timestamp"]) + 3
            ids, legs, baseline = {}, {}, {}
            for name, user in users.items():
                body, legs[name] = plan_intent(stack, user, nonce=1, valid_after=start)
                baseline[name] = baseline_cost(stack, legs[name])
                answer = requests.post(f"{keeper.url}/intents", json=body, timeout=10)
                answer.raise_for_status()
                ids[name] = answer.json()["id"]
                print(f"  {name} signed intent {ids[name][:18]}…: {len(legs[name])} legs")

            def states() -> dict[str, dict]:
                return {
                    n: requests.get(f"{keeper.url}/intents/{i}", timeout=5).json()
                    for n, i in ids.items()
                }

            settled = wait_for(
                lambda: all(r["state"] == "settled" for r in states().values()), timeout=180
            )
            final = states()
            if not settled:
                print({n: (r["state"], r.get("reason")) for n, r in final.items()})
                print((workdir / "keeper" / "keeper.log").read_text()[-3000:])
                return 1
            after = {n: _balances(stack, u.address) for n, u in users.items()}
            tx_hashes = {r["tx_hash"] for r in final.values()}
            receipts = [stack.w3.eth.get_transaction_receipt(h) for h in tx_hashes]
            print(f"all {len(ids)} intents settled in {len(tx_hashes)} private bundle(s)")
            fair_savings(workdir / "keeper", tx_hashes)
            for receipt in receipts:
                report(stack, before, after, legs, baseline, receipt)
    return 0


def main() -> int:
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="keeper-demo-") as tmp:
            code = run(Path(tmp))
    except KeyboardInterrupt:
        print("\ninterrupted; everything the demo started is stopped")
        return 130
    status = "finished" if code == 0 else "FAILED"
    print(
        f"\ndemo {status} in {time.perf_counter() - started:.1f}s; everything it started is stopped"
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
