"""Synthetic pool snapshots for chain-free routing tests (V2 pairs and V3 pools with ranges)."""

from __future__ import annotations

import math
import random

from keeper.routing import Snapshot
from keeper.routing.constants import MAX_TICK, MIN_TICK
from keeper.routing.v3math import sqrt_ratio_at_tick

TOKENS = [f"0x{i:040x}" for i in range(1, 6)]
SYMBOLS = ["AAA", "BBB", "CCC", "DDD", "EEE"]


def _address(n: int) -> str:
    return f"0x{0xABC0000 + n:040x}"


def v2(n: int, a: int, b: int, r0: int, r1: int, fee: int = 3000) -> dict:
    t0, t1 = sorted((TOKENS[a], TOKENS[b]))
    return {
        "kind": "v2",
        "address": _address(n),
        "token0": t0,
        "token1": t1,
        "fee": fee,
        "reserve0": str(r0),
        "reserve1": str(r1),
    }


def v3(
    n: int,
    a: int,
    b: int,
    tick: int,
    positions: list[tuple[int, int, int]],
    fee: int = 3000,
    spacing: int = 60,
) -> dict:
    """A V3 pool at ``tick`` with liquidity ``L`` on each ``(lower, upper, L)`` range."""
    t0, t1 = sorted((TOKENS[a], TOKENS[b]))
    net: dict[int, int] = {}
    active = 0
    for lower, upper, liquidity in positions:
        net[lower] = net.get(lower, 0) + liquidity
        net[upper] = net.get(upper, 0) - liquidity
        if lower <= tick < upper:
            active += liquidity
    ticks = [{"index": t, "liquidity_net": str(v)} for t, v in sorted(net.items()) if v]
    low, high = sqrt_ratio_at_tick(tick), sqrt_ratio_at_tick(tick + 1)
    return {
        "kind": "v3",
        "address": _address(n),
        "token0": t0,
        "token1": t1,
        "fee": fee,
        "tick_spacing": spacing,
        "sqrt_price_x96": str((low + high) // 2),
        "tick": tick,
        "liquidity": str(active),
        "ticks": ticks,
        "tick_window": [MIN_TICK, MAX_TICK],
    }


def snapshot(pools: list[dict], n_tokens: int = 3, weth: int | None = None) -> Snapshot:
    return Snapshot.from_dict(
        {
            "weth": TOKENS[weth] if weth is not None else None,
            "tokens": [{"address": TOKENS[i], "symbol": SYMBOLS[i]} for i in range(n_tokens)],
            "pools": pools,
        }
    )


def random_snapshot(seed: int, n_tokens: int = 3, n_v2: int = 3, n_v3: int = 2) -> Snapshot:
    """Tokens valued 1, 2, 4, ... with pools near those prices (small mispricings, fees)."""
    rng = random.Random(seed)
    value = [2.0**i for i in range(n_tokens)]
    pairs = [(a, b) for a in range(n_tokens) for b in range(a + 1, n_tokens)]
    pools: list[dict] = []
    for n in range(n_v2 + n_v3):
        a, b = pairs[rng.randrange(len(pairs))] if n >= len(pairs) else pairs[n]
        t0, t1 = sorted((a, b), key=lambda i: TOKENS[i])
        price = value[t0] / value[t1] * rng.uniform(0.98, 1.02)  # token1 per token0
        fee = rng.choice([500, 3000, 10000])
        if n < n_v2:
            r0 = int(10 ** rng.uniform(20, 23))
            pools.append(v2(n, a, b, r0, int(r0 * price), fee))
        else:
            spacing = {500: 10, 3000: 60, 10000: 200}[fee]
            tick = int(math.log(price, 1.0001))
            base = tick // spacing * spacing
            positions = [
                (base - spacing * w, base + spacing * (w + 1), int(10 ** rng.uniform(19, 22)))
                for w in rng.sample(range(1, 60), 4)
            ]
            pools.append(v3(n, a, b, tick, positions, fee, spacing))
    return snapshot(pools, n_tokens)
