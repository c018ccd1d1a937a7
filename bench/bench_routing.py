"""Routing figures: optimality and speed against cvxpy, gains over simple routers, 1,000 pools.

Random constant-product instances (the problem cvxpy can state exactly, Angeris et al.):

* parallel pools: one pair, 10 or 100 V2 pools with random depths (x100 spread), prices
  (+-0.025 %: no pool-to-pool arbitrage) and fees (0.05/0.3/1 %), trade sizes from 0.1 % to
  30 % of the median depth;
* multi-hop: 4 tokens / 10 pools and 6 tokens / 100 pools between random pairs, the same
  randomness;
* 1,000 pools: one pair, 10 tokens (V2), and 10 tokens with half the pools V3 (3-8 ranges).

Our figures are for :func:`keeper.routing.route` end to end (split, integer legs, exact
quotes, quote memo cleared; the market is compiled once, as once per block). The optimality
gap compares the float optimum of both solvers on the same problem, and our own dual bound
certifies ours. cvxpy (CLARABEL) is a dev dependency imported here only. Speed ratios are CPU
time (``process_time``: the 2 cores are shared, wall time depends on the neighbours; CLARABEL
runs single-threaded here), cvxpy's solve the best of 3, ours the best of 5.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from typing import Any

import numpy as np

from keeper.routing import Market, Snapshot, route
from keeper.routing.constants import MAX_TICK, MIN_TICK
from keeper.routing.graph import candidate_edges, mid_prices
from keeper.routing.quotes import quote_edge
from keeper.routing.solver import solve
from keeper.routing.v3math import sqrt_ratio_at_tick

UNIT = 10**18
TOKENS = [f"0x{i:040x}" for i in range(1, 11)]


def _v3_pool(rng: random.Random, n: int, t0: int, t1: int, depth: float, price: float) -> dict:
    """A V3 pool near ``price`` (token1 per token0) with 3-8 ranges around the current tick,
    liquidity comparable to a V2 pair of ``depth`` whole tokens (concentrated x2-x20)."""
    fee = rng.choice([500, 3000, 10000])
    spacing = {500: 10, 3000: 60, 10000: 200}[fee]
    tick = math.floor(math.log(price, 1.0001))
    base = tick // spacing * spacing
    net: dict[int, int] = {}
    active = 0
    for _ in range(rng.randint(3, 8)):
        lower = base - spacing * rng.randint(1, 40)
        upper = base + spacing * rng.randint(1, 40)
        liquidity = int(depth * math.sqrt(price) * UNIT * 10 ** rng.uniform(0.3, 1.3))
        net[lower] = net.get(lower, 0) + liquidity
        net[upper] = net.get(upper, 0) - liquidity
        active += liquidity if lower <= tick < upper else 0
    low, high = sqrt_ratio_at_tick(tick), sqrt_ratio_at_tick(tick + 1)
    return {
        "kind": "v3",
        "address": f"0x{0xBEEF0000 + n:040x}",
        "token0": TOKENS[t0],
        "token1": TOKENS[t1],
        "fee": fee,
        "tick_spacing": spacing,
        "sqrt_price_x96": str(low + (high - low) * rng.randint(1, 99) // 100),
        "tick": tick,
        "liquidity": str(active),
        "ticks": [{"index": t, "liquidity_net": str(v)} for t, v in sorted(net.items()) if v],
        "tick_window": [MIN_TICK, MAX_TICK],
    }


def _instance(
    rng: random.Random,
    n_tokens: int,
    n_pools: int,
    pairs: list[tuple[int, int]],
    v3_share: float = 0.0,
) -> Snapshot:
    value = [rng.uniform(0.5, 2.0) for _ in range(n_tokens)]
    pools = []
    for n in range(n_pools):
        a, b = pairs[n % len(pairs)] if n < len(pairs) else rng.choice(pairs)
        t0, t1 = sorted((a, b))
        depth = 10 ** rng.uniform(3, 5)  # whole tokens of token0
        # within +-0.025 %: no pool-to-pool arbitrage (every fee is >= 0.05 %)
        price = value[t0] / value[t1] * rng.uniform(0.99975, 1.00025)
        if v3_share and rng.random() < v3_share:
            pools.append(_v3_pool(rng, n, t0, t1, depth, price))
            continue
        pools.append(
            {
                "kind": "v2",
                "address": f"0x{0xBEEF0000 + n:040x}",
                "token0": TOKENS[t0],
                "token1": TOKENS[t1],
                "fee": rng.choice([500, 3000, 10000]),
                "reserve0": str(int(depth * UNIT)),
                "reserve1": str(int(depth * price * UNIT)),
            }
        )
    return Snapshot.from_dict(
        {
            "tokens": [{"address": t, "symbol": f"T{i}"} for i, t in enumerate(TOKENS[:n_tokens])],
            "pools": pools,
        }
    )


def _cvxpy(
    snapshot: Snapshot, sell: int, buy: int, amount: float, tight: bool = False
) -> tuple[float, float]:
    """Optimal output (whole tokens) and solve time, Angeris et al.'s convex program.

    ``tight``: interior-point tolerances at 1e-12 (the reference optimum for the gap);
    otherwise CLARABEL's defaults (the speed reference)."""
    import cvxpy as cp

    n = len(snapshot.tokens)
    index = {t.address: i for i, t in enumerate(snapshot.tokens)}
    net = [0] * n
    constraints = []
    for pool in snapshot.pools:
        i, j = index[pool.token0], index[pool.token1]
        r = np.array([pool.reserve0 / UNIT, pool.reserve1 / UNIT])
        gamma = 1 - pool.fee / 1e6
        delta, lam = cp.Variable(2, nonneg=True), cp.Variable(2, nonneg=True)
        constraints.append(cp.geo_mean(r + gamma * delta - lam) >= math.sqrt(r[0] * r[1]))
        net[i] = net[i] + lam[0] - delta[0]
        net[j] = net[j] + lam[1] - delta[1]
    constraints += [net[sell] >= -amount]
    constraints += [net[t] >= 0 for t in range(n) if t not in (sell, buy)]
    problem = cp.Problem(cp.Maximize(net[buy]), constraints)
    options = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12} if tight else {}
    started = time.process_time()  # CPU time: the 2 cores are shared (CLARABEL: 1 thread)
    problem.solve(solver=cp.CLARABEL, **options)
    return float(problem.value), time.process_time() - started


def _ours_float(market: Market, sell: int, buy: int, amount: int) -> tuple[float, float]:
    """Our float optimum (whole tokens) and the dual value at our prices: an upper bound on
    every feasible output (weak duality), so ``(bound - ours) / bound`` certifies our gap
    without trusting any other solver."""
    edges, tokens = candidate_edges(market, sell, buy, 3)
    mids = mid_prices(market, buy)
    sol = solve(
        market, edges, tokens, sell, buy, float(amount), np.where(np.isnan(mids), 1.0, mids)
    )
    assert sol is not None
    ein, eout = market.edge_in[sol.edges], market.edge_out[sol.edges]
    out = float(sol.y[eout == buy].sum() - sol.x[ein == buy].sum())
    bound = amount * sol.prices[sell] + float(
        np.sum(sol.prices[eout] * sol.y - sol.prices[ein] * sol.x)
    )
    return out / UNIT, float(bound) / UNIT


def _grid_split(market: Market, sell: int, buy: int, amount: int, steps: int = 20) -> int:
    """Uniswap-style split: 5 % chunks, each to the direct pool paying most for it."""
    edges = [
        e
        for e in range(len(market.edge_in))
        if market.edge_in[e] == sell and market.edge_out[e] == buy
    ]
    given = dict.fromkeys(edges, 0)
    chunk = amount // steps
    for step in range(steps):
        size = chunk if step < steps - 1 else amount - chunk * (steps - 1)

        def gain(e: int, size: int = size) -> int:
            before = quote_edge(market, e, given[e]).amount_out if given[e] else 0
            return quote_edge(market, e, given[e] + size).amount_out - before

        best = max(edges, key=gain)
        given[best] += size
    return sum(quote_edge(market, e, a).amount_out for e, a in given.items() if a)


def _timed(fn: Any, repeat: int = 5, clock: Any = time.perf_counter) -> float:
    samples = []
    for _ in range(repeat):
        started = clock()
        fn()
        samples.append(clock() - started)
    return min(samples)


def _fresh_route(
    market: Market,
    amount: int,
    gas_price: int = 0,
    eth_price: float | None = None,
    cold: bool = True,
) -> Any:
    """route() with the exact quotes timed too (memo and TickMath cache cleared); ``cold``:
    also the pair's problem structure (candidate pools, dual indices, ...), which is otherwise
    kept on the market for the next route of the same pair."""
    market.quote_cache.clear()
    sqrt_ratio_at_tick.cache_clear()
    if cold:
        market.problems.clear()
    return route(market, TOKENS[0], TOKENS[1], amount, gas_price, eth_price=eth_price)


def _compare(label: str, rng: random.Random, n_tokens: int, n_pools: int, count: int) -> None:
    gaps, certified, ratios, warm_ratios, solver_ratios = [], [], [], [], []
    over_single, over_grid = [], []
    pairs = [(a, b) for a in range(n_tokens) for b in range(a + 1, n_tokens)]
    for _ in range(count):
        snap = _instance(rng, n_tokens, n_pools, pairs)
        market = Market(snap)
        sell, buy = 0, 1
        depth = statistics.median(p.reserve0 for p in snap.pools)
        amount = int(depth * 10 ** rng.uniform(-3, math.log10(0.3)))
        ours, bound = _ours_float(market, sell, buy, amount)
        certified.append((bound - ours) / bound)
        best, _ = _cvxpy(snap, sell, buy, amount / UNIT, tight=True)
        gaps.append((best - ours) / best)
        cvx_time = min(_cvxpy(snap, sell, buy, amount / UNIT)[1] for _ in range(3))
        r = _fresh_route(market, amount)
        cpu = time.process_time
        ratios.append(cvx_time / _timed(lambda m=market, a=amount: _fresh_route(m, a), 5, cpu))
        warm = _timed(lambda m=market, a=amount: _fresh_route(m, a, cold=False), 5, cpu)
        warm_ratios.append(cvx_time / warm)
        ours_time = _timed(lambda m=market, a=amount: _ours_float(m, 0, 1, a), 5, cpu)
        solver_ratios.append(cvx_time / ours_time)
        single = max(
            (
                quote_edge(market, e, amount).amount_out
                for e in range(len(market.edge_in))
                if market.edge_in[e] == sell and market.edge_out[e] == buy
            ),
            default=0,
        )
        if single:
            over_single.append((r.amount_out / single - 1) * 1e4)
        if n_tokens == 2:
            over_grid.append((r.amount_out / _grid_split(market, sell, buy, amount) - 1) * 1e4)
    print(f"{label} ({count} random instances)")
    print(
        f"  optimality gap (cvxpy - ours) / cvxpy, CLARABEL at 1e-12 tolerances: "
        f"max {max(gaps):+.1e}, median {statistics.median(gaps):+.1e}, min {min(gaps):+.1e} "
        f"(negative = ours higher); certified by our dual bound: max {max(certified):.1e}"
    )
    print(
        f"  speed vs the cvxpy solve (CPU time, default tolerances, best of 3): route() end to "
        f"end {statistics.median(ratios):.0f}x (min {min(ratios):.0f}x), pair already seen "
        f"{statistics.median(warm_ratios):.0f}x (min {min(warm_ratios):.0f}x); float optimiser "
        f"alone {statistics.median(solver_ratios):.0f}x (min {min(solver_ratios):.0f}x)"
    )
    print(
        f"  gain over best single pool: median {statistics.median(over_single):.1f} bps, "
        f"max {max(over_single):.1f} bps"
    )
    if over_grid:
        print(
            f"  gain over a 5%-grid split: median {statistics.median(over_grid):.2f} bps, "
            f"max {max(over_grid):.2f} bps, min {min(over_grid):.2f} bps"
        )


def _large(rng: random.Random) -> None:
    pair = _instance(rng, 2, 1000, [(0, 1)])
    pairs = [(a, b) for a in range(10) for b in range(a + 1, 10)]
    network = _instance(rng, 10, 1000, pairs)
    mixed = _instance(rng, 10, 1000, pairs, v3_share=0.5)
    for label, snap in (
        ("1,000 V2 pools on one pair", pair),
        ("1,000 V2 pools over 10 tokens", network),
        ("1,000 pools over 10 tokens, half V3 (3-8 ranges each)", mixed),
    ):
        compile_time = _timed(lambda s=snap: Market(s), repeat=3)
        market = Market(snap)
        amount = 10**4 * UNIT
        r = route(market, TOKENS[0], TOKENS[1], amount)
        gas = route(market, TOKENS[0], TOKENS[1], amount, 30 * 10**9, eth_price=1.0)
        times = [
            _timed(lambda m=market, a=amount, g=args: _fresh_route(m, a, *g), 9, clock)
            for args in ((), (30 * 10**9, 1.0))
            for clock in (time.perf_counter, time.process_time)
        ]
        v3_legs = sum(leg.kind == "v3" for leg in r.legs)
        print(
            f"{label}: route() {times[0] * 1000:.1f} ms wall / {times[1] * 1000:.1f} ms CPU "
            f"({len(r.legs)} legs, {v3_legs} V3, gas ignored); {times[2] * 1000:.1f} ms wall / "
            f"{times[3] * 1000:.1f} ms CPU gas-aware at 30 gwei ({len(gas.legs)} legs); "
            f"snapshot compile {compile_time * 1000:.1f} ms (once per block)"
        )


def run() -> None:
    rng = random.Random(20261125)
    _compare("parallel V2 pools, 1 pair / 10 pools", rng, 2, 10, 20)
    _compare("parallel V2 pools, 1 pair / 100 pools", rng, 2, 100, 5)
    _compare("multi-hop, 4 tokens / 10 pools", rng, 4, 10, 20)
    _compare("multi-hop, 6 tokens / 100 pools", rng, 6, 100, 5)
    _large(rng)
