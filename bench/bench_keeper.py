"""Keeper figures on the seeded local market (one run, side by side):

1. cost of a 20-user mixed rebalance settled as one batch vs one Router02 transaction per leg
   (gas + LP fees + price impact, valued at the market's reference prices);
2. block-to-bundle latency (new head -> bundle sent to the relay) with 100 and 1,000 intents
   pending in the store (one batch of at most ``max_orders_per_batch`` per block);
3. the keeper's hand-written settle encoder against eth-abi on a 64-order batch (the bytes are
   property-tested equal in tests/keeper/pipeline/test_abi_encoding.py).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REBALANCERS = 20
#: one per order of a full batch (limits.max_orders_per_batch, 64): the executor measures an
#: owner's balance of a buy token once per batch, so the planner defers an owner's second
#: intent buying or selling the same tokens; with fewer owners than orders, batches shrink
LOAD_USERS = 64
LATENCY_CYCLES = 40


def _portfolios() -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(7)
    out: dict[str, dict[str, float]] = {}
    for i in range(REBALANCERS):
        usd = rng.uniform(20_000, 120_000)
        weights = rng.dirichlet([1.0, 1.0, 1.0])
        out[f"user{i:02d}"] = {
            "WETH": round(usd * weights[0] / 3_000, 4),
            "WBTC": round(usd * weights[1] / 90_000, 6),
            "USDC": round(usd * weights[2], 2),
        }
    for i in range(LOAD_USERS):
        out[f"load{i:02d}"] = {"WETH": 200, "USDC": 600_000}
    return out


#: BuilderNet refundPercent the rebalance bundle asks for (the local relay pays it)
REFUND_PERCENT = 90


def _parts(stack: Any, data_dir: Path, refunds: bool = False, **limits: Any) -> Any:
    from keeper.config import load_settings
    from keeper.daemon.daemon import build
    from keeper.devstack.localstack import KEEPER_SIGNER

    relay: dict[str, Any] = {"urls": [stack.relay.url], "target_blocks": 6}
    if refunds:  # the local relay as a BuilderNet builder that also answers refund queries
        builder = {"name": "local", "url": stack.relay.url, "refunds": True}
        relay = {
            "urls": [],
            "builders": [{**builder, "refund_queries": True}],
            "target_blocks": 6,
            "refund_percent": REFUND_PERCENT,
        }
    settings = load_settings(
        data_dir=data_dir,
        rpc_url=stack.anvil.url,
        signer=KEEPER_SIGNER,
        keeper_id=data_dir.name,
        relay=relay,
        intake={"enabled": False},
        metrics={"enabled": False},
        limits=limits,
    )
    return build(settings, stack.deployments_file)


def rebalance_cost(stack: Any, workdir: Path) -> None:
    from keeper.devstack import demo

    users = dict(zip(_portfolios(), stack.users, strict=True))
    rebalancers = {n: u for n, u in users.items() if n.startswith("user")}
    parts = _parts(stack, workdir / "rebalance", refunds=True)
    before = {n: demo._balances(stack, u.address) for n, u in rebalancers.items()}
    legs, baseline, ids = {}, {}, []
    start = int(stack.w3.eth.get_block("latest")["timestamp"])
    for name, user in rebalancers.items():
        body, legs[name] = demo.plan_intent(stack, user, nonce=1, valid_after=start)
        baseline[name] = demo.baseline_cost(stack, legs[name])
        ids.append(parts.intake.submit(body)[0].id)
    pipeline = parts.pipeline
    pipeline.planner = planned = RecordingPlanner(pipeline.planner)
    for _ in range(30):
        pipeline.run_block(pipeline.chain.head())
        if all(parts.store.get(i).state.value == "settled" for i in ids):
            break
        stack.relay.mine_block()
    records = [parts.store.get(i) for i in ids]
    hashes = {r.tx_hash for r in records}
    settled = sum(r.state.value == "settled" for r in records)
    after = {n: demo._balances(stack, u.address) for n, u in rebalancers.items()}
    receipts = [stack.w3.eth.get_transaction_receipt(h) for h in hashes if h]
    gas = sum(int(r["gasUsed"]) for r in receipts)
    usd_per_gas = int(receipts[0]["effectiveGasPrice"]) / 1e18 * 3_000
    slip = sum(
        -sum(demo._usd(stack, s, after[n][s] - before[n][s]) for s in demo.TARGET)
        for n in rebalancers
    )
    n_legs = sum(len(v) for v in legs.values())
    batch_usd = gas * usd_per_gas + slip
    alone_gas = n_legs * stack.router02_swap_gas
    alone_usd = alone_gas * usd_per_gas + sum(baseline.values())
    print(f"20-user mixed rebalance: {settled}/{len(ids)} intents settled in "
          f"{len(hashes)} transaction(s), {n_legs} pairwise legs")  # fmt: skip
    legs_to = [demo.direct_legs(stack, h) for h in hashes if h]
    print(f"  sell legs: {sum(d for d, _ in legs_to)} direct to a buyer, "
          f"{sum(r for _, r in legs_to)} through the executor")  # fmt: skip
    print(f"  batch:               gas {gas:>10,}  total cost ${batch_usd:>10,.2f}")
    print(f"  one Router02 tx/leg: gas {alone_gas:>10,}  total cost ${alone_usd:>10,.2f}  "
          f"({stack.router02_swap_gas:,} gas per swap, measured)")  # fmt: skip
    print(f"  batch is {100 * (1 - batch_usd / alone_usd):.1f}% cheaper in total "
          f"(gas alone {100 * (1 - gas / alone_gas):.1f}% less)")  # fmt: skip
    paid_wei = sum(int(r["gasUsed"]) * int(r["effectiveGasPrice"]) for r in receipts)
    bundles = {r.bundle_hash for r in records if r.bundle_hash}
    refund_wei = sum(
        refund.amount
        for b in bundles
        for refund in parts.pipeline.relay.fee_refunds_by_bundle(b).refunds
    )
    net_wei = paid_wei - refund_wei
    print(f"  gas cost net of builder refunds (refundPercent {REFUND_PERCENT}): "
          f"{paid_wei / 1e18:.6f} ETH paid - {refund_wei / 1e18:.6f} ETH refunded = "
          f"{net_wei / 1e18:.6f} ETH (${net_wei / 1e18 * 3_000:,.2f} at $3,000/ETH, "
          f"{100 * refund_wei / max(paid_wei, 1):.1f}% back)")  # fmt: skip
    print(netted_share_line(planned, records))
    parts.store.close()


class RecordingPlanner:
    """The pipeline's planner, keeping every plan it answers (to read the settled netting)."""

    def __init__(self, planner: Any) -> None:
        self.planner = planner
        self.plans: list[Any] = []

    def plan(self, batch: Any, head: Any, fees: Any) -> Any:
        plan = self.planner.plan(batch, head, fees)
        self.plans.append(plan)
        return plan

    def __getattr__(self, name: str) -> Any:  # prefetch, close, value_usd
        return getattr(self.planner, name)


def settled_flow(planned: RecordingPlanner, records: list[Any]) -> Any:
    """The netted share of the flow of the plans that settled: per settlement transaction,
    the last plan of exactly the intents it settled (an earlier plan of them was re-planned
    or not included), valued at the market's reference prices."""
    from keeper.routing.netting import netted_flow

    by_tx: dict[str, set[str]] = {}
    for r in records:
        if r.state.value == "settled" and r.tx_hash:
            by_tx.setdefault(r.tx_hash, set()).add(r.id)
    clearings = []
    for ids in by_tx.values():
        plan = next(
            p for p in reversed(planned.plans)
            if p.settlement is not None and set(p.settlement.intent_ids) == ids
        )  # fmt: skip
        clearings.extend(plan.clearings)
    return netted_flow(clearings, planned.planner.value_usd)


def netted_share_line(planned: RecordingPlanner, records: list[Any]) -> str:
    flow = settled_flow(planned, records)
    return (f"  netted share of flow: {100 * flow.share:.1f}% (${flow.netted_usd:,.0f} of "
            f"${flow.total_usd:,.0f} sold settled between users, ${flow.routed_usd:,.0f} "
            "routed through pools)")  # fmt: skip


def _load_intents(stack: Any, count: int, nonce_base: int) -> list[dict]:
    from keeper.devstack.localstack import quote
    from keeper.intents.signing import sign_intent
    from keeper.intents.types import RebalanceIntent, TokenAmount
    from keeper.intents.validation import SignedIntent

    users = [u for n, u in zip(_portfolios(), stack.users, strict=True) if n.startswith("load")]
    weth, usdc = stack.market.token("WETH"), stack.market.token("USDC")
    sell_weth, sell_usdc = weth.units(0.05), usdc.units(150)
    min_usdc = quote(stack, "WETH", sell_weth, "USDC") * 90 // 100
    min_weth = quote(stack, "USDC", sell_usdc, "WETH") * 90 // 100
    deadline = int(stack.w3.eth.get_block("latest")["timestamp"]) + 3_600
    bodies = []
    for k in range(count):
        user = users[k % len(users)]
        legs = (
            ((weth, sell_weth), (usdc, min_usdc))
            if k % 3
            else ((usdc, sell_usdc), (weth, min_weth))
        )
        intent = RebalanceIntent(
            owner=user.address,
            executor=stack.executor,
            nonce=nonce_base + k,
            deadline=deadline,
            sells=[TokenAmount(token=legs[0][0].address, amount=legs[0][1])],
            buys=[TokenAmount(token=legs[1][0].address, amount=legs[1][1])],
        )
        signature = sign_intent(intent, user, stack.chain_id)
        bodies.append(SignedIntent(intent=intent, signature=signature).to_wire())
    return bodies


def latency(stack: Any, workdir: Path, pending: int) -> None:
    """Cycles that claim a batch while ``pending`` intents wait (the pile is topped up after
    each batch). Block-to-bundle latency = from the start of the cycle for a new head (the
    head is known) to ``eth_sendBundle`` answered by the relay (``CycleReport.bundle_seconds``).
    The first batch (imports, first full pool read) is a warm-up and not counted."""
    from keeper.daemon.daemon import freeze_heap

    parts = _parts(stack, workdir / f"load{pending}")
    intake = parts.intake
    intake.chain = None  # the pile is built fast; the pipeline re-checks everything on-chain
    batch_cap = parts.settings.limits.max_orders_per_batch
    bodies = iter(
        _load_intents(stack, pending + (LATENCY_CYCLES + 2) * batch_cap, 1_000_000 * pending)
    )
    for _ in range(pending):
        intake.submit(next(bodies))
    pipeline = parts.pipeline
    times: list[float] = []
    stages: dict[str, list[float]] = {}
    cycles: list[dict[str, float]] = []
    batch, warm = 0, False
    for _ in range(4 * LATENCY_CYCLES):
        report = pipeline.run_block(pipeline.chain.head())
        if report.bundle_seconds is not None:
            batch = report.submitted
            if warm:
                times.append(report.bundle_seconds)
                cycles.append(report.stages)
                for name, seconds in report.stages.items():
                    stages.setdefault(name, []).append(seconds)
            for _ in range(report.submitted):  # keep the pile at `pending`
                intake.submit(next(bodies))
            if not warm:
                freeze_heap()  # as `keeper run` does once started
            warm = True
        elif report.claimed:
            raise RuntimeError(f"a batch was claimed but not sent: {report.notes}")
        if len(times) >= LATENCY_CYCLES:
            break
        stack.relay.mine_block()
    for flight in pipeline.in_flight:  # let the last bundle land: the next run reuses the signer
        for _ in range(3):
            stack.relay.mine_block()
            if pipeline.chain.receipt(flight.tx_hash) is not None:
                break
    ms = np.asarray(times) * 1000
    print(f"block-to-bundle, {pending:>5} pending: p50 {np.median(ms):6.1f} ms  "
          f"p95 {np.percentile(ms, 95):6.1f} ms  max {ms.max():6.1f} ms  "
          f"(batches of {batch}, {len(ms)} cycles)")  # fmt: skip
    shown = [n for n in STAGES if n in stages]
    print("  stage medians (ms): " + ", ".join(
        f"{n} {statistics.median(stages[n]) * 1000:.1f}" for n in shown
    ))  # fmt: skip
    slowest = cycles[int(np.argmax(ms))]
    print(f"  slowest cycle ({ms.max():.0f} ms): " + ", ".join(
        f"{n} {slowest[n] * 1000:.0f}" for n in shown if n in slowest
    ))  # fmt: skip
    pools = parts.pools
    print(f"  pool reads: {pools.incremental_reads} one-batch, {pools.full_reads} full")
    pipeline.close()
    parts.store.close()


def encoder_speed() -> None:
    """``encode_settle`` for 64 one-pair orders (packed orders + the outer call by hand) against
    eth-abi encoding the same outer call around the same packed orders."""
    import timeit

    from eth_abi import encode

    from keeper.intents.types import Execution, Order, RebalanceIntent, TokenAmount
    from keeper.settlement.abi import SETTLE_SELECTOR, encode_orders, encode_settle

    intent = RebalanceIntent(
        owner="0x" + "12" * 20,
        executor="0x" + "34" * 20,
        nonce=7,
        deadline=2**40,
        sells=[TokenAmount(token="0x" + "56" * 20, amount=10**18)],
        buys=[TokenAmount(token="0x" + "78" * 20, amount=3 * 10**9)],
    )
    execution = Execution(sell_amounts=[10**18], buy_amounts=[3 * 10**9])
    batch = [Order(intent=intent, signature=b"\x01" * 65, execution=execution)] * 64

    def with_eth_abi() -> bytes:
        return SETTLE_SELECTOR + encode(
            ["bytes", "(address,uint256,bytes)[]"], [encode_orders(batch), []]
        )

    assert with_eth_abi() == encode_settle(batch, [])
    ours = min(timeit.repeat(lambda: encode_settle(batch, []), number=5, repeat=7)) / 5
    theirs = min(timeit.repeat(with_eth_abi, number=5, repeat=7)) / 5
    size = len(encode_settle(batch, []))
    print(f"settle calldata, 64 orders ({size:,} bytes, packed): ours {ours * 1e3:.2f} ms "
          f"vs eth-abi outer call {theirs * 1e3:.2f} ms "
          f"({theirs / ours:.1f}x, best of 7)")  # fmt: skip


#: cycle stages in pipeline order (``precheck`` runs beside ``plan``; ``snapshot`` is the wait
#: for the pool read, which starts with the cycle)
STAGES = ("follow", "claim", "snapshot", "net", "build", "precheck", "precheck_wait",
          "simulate", "sign", "call_bundle", "record", "send")  # fmt: skip


def run() -> None:
    from keeper.devstack.localstack import local_stack

    encoder_speed()
    with tempfile.TemporaryDirectory(prefix="bench-keeper-") as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        # The relay runs in a process of its own, as a real relay is remote: in-process, its
        # request handling (JSON, signature recovery) would take the keeper's interpreter lock.
        with local_stack(workdir, _portfolios(), block_time=None, relay_process=True) as stack:
            print(f"set-up (market, executor, {len(stack.users)} funded users): "
                  f"{time.perf_counter() - started:.1f}s")  # fmt: skip
            rebalance_cost(stack, workdir)
            for pending in (100, 1_000):
                latency(stack, workdir, pending)
