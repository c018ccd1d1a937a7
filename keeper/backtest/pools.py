"""Pool profiles: a token's pool against the numeraire (USDC), priced by the routing engine's
exact integer Uniswap math (``keeper.routing.v2math.amount_out``,
``keeper.routing.v3math.swap_exact_input``).

A profile gives the pool kind, fee tier and depth in USD (total value locked; for V3 the value
of one position spread over ``+-range_pct`` around the price). On each bar the pool is rebuilt
at the bar's close with that depth, so the cost follows the trade's size against liquidity,
not a replay of historical pool states.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from keeper.routing.constants import FEE_DENOMINATOR, MAX_TICK, MIN_TICK, Q96
from keeper.routing.v2math import amount_out as v2_amount_out
from keeper.routing.v3math import TickBook, swap_exact_input, tick_at_sqrt_ratio

NUMERAIRE_DECIMALS = 6  # USDC
_SPACING = {100: 1, 500: 10, 3000: 60, 10000: 200}


@dataclass(frozen=True)
class PoolProfile:
    kind: Literal["v2", "v3"]
    #: fee tier in hundredths of a basis point (Uniswap units: 3000 = 0.3 %)
    fee: int
    depth_usd: float
    #: V3: the position's half-width around the price (0.25 = -25 % ... +25 %)
    range_pct: float = 0.25
    decimals: int = 18

    def scaled(self, factor: float) -> PoolProfile:
        return PoolProfile(
            self.kind, self.fee, self.depth_usd * factor, self.range_pct, self.decimals
        )


#: Default profiles, chosen as round figures below the largest mainnet pools of each pair
#: (docs/BACKTESTS.md says how to use a snapshot instead): deep V3 0.05 % pools for WETH and
#: WBTC, 0.01 % stable pools, V3 0.3 % for large alt-coins, V2 0.3 % for anything else.
DEFAULT_PROFILES: dict[str, PoolProfile] = {
    "WETH": PoolProfile("v3", 500, 100_000_000.0, 0.25, 18),
    "ETH": PoolProfile("v3", 500, 100_000_000.0, 0.25, 18),
    "wstETH": PoolProfile("v3", 500, 20_000_000.0, 0.25, 18),
    "stETH": PoolProfile("v3", 500, 20_000_000.0, 0.25, 18),
    "WBTC": PoolProfile("v3", 500, 50_000_000.0, 0.25, 8),
    "BTC": PoolProfile("v3", 500, 50_000_000.0, 0.25, 8),
    "USDT": PoolProfile("v3", 100, 50_000_000.0, 0.01, 6),
    "DAI": PoolProfile("v3", 100, 50_000_000.0, 0.01, 18),
    "LINK": PoolProfile("v3", 3000, 10_000_000.0, 0.50, 18),
    "UNI": PoolProfile("v3", 3000, 5_000_000.0, 0.50, 18),
    "AAVE": PoolProfile("v3", 3000, 5_000_000.0, 0.50, 18),
}
FALLBACK_PROFILE = PoolProfile("v2", 3000, 2_000_000.0, 0.0, 18)


def profiles_for(
    tokens: tuple[str, ...], scale: float = 1.0, numeraire: str = "USDC"
) -> dict[str, PoolProfile]:
    """The default profile of each token (the numeraire has none: it crosses no pool)."""
    return {
        t: DEFAULT_PROFILES.get(t, FALLBACK_PROFILE).scaled(scale) for t in tokens if t != numeraire
    }


def _raw_price(price_usd: float, decimals: int) -> float:
    """Numeraire base units per token base unit."""
    return price_usd * 10**NUMERAIRE_DECIMALS / 10**decimals


def _v3_book(p: PoolProfile, price_usd: float) -> TickBook:
    raw = _raw_price(price_usd, p.decimals)
    sqrt_x96 = int(math.sqrt(raw) * Q96)
    tick = tick_at_sqrt_ratio(sqrt_x96)
    spacing = _SPACING.get(p.fee, 60)
    delta = max(spacing, int(math.log(1.0 + p.range_pct) / math.log(1.0001)))
    lower = max(MIN_TICK, (tick - delta) // spacing * spacing)
    upper = min(MAX_TICK, -((-(tick + delta)) // spacing) * spacing)
    sa, sb, sp = 1.0001 ** (lower / 2), 1.0001 ** (upper / 2), math.sqrt(raw)
    value_raw = p.depth_usd * 10**NUMERAIRE_DECIMALS
    liquidity = int(value_raw / (2 * sp - sa - raw / sb))
    return TickBook(
        address="profile",
        fee=p.fee,
        tick_spacing=spacing,
        sqrt_price_x96=sqrt_x96,
        tick=tick,
        liquidity=liquidity,
        ticks=(lower, upper),
        liquidity_net=(liquidity, -liquidity),
        window=(MIN_TICK, MAX_TICK),
    )


def leg_loss_usd(p: PoolProfile, price_usd: float, usd: float, sell: bool) -> tuple[float, float]:
    """``(fee, impact)`` in USD of swapping ``usd`` worth of the token (``sell``) or of the
    numeraire into the token (buy) through its pool at ``price_usd``."""
    scale_tok = 10**p.decimals
    scale_num = 10**NUMERAIRE_DECIMALS
    amount_in = int(usd / price_usd * scale_tok) if sell else int(usd * scale_num)
    if amount_in <= 0:
        return 0.0, 0.0
    usd_in = amount_in / scale_tok * price_usd if sell else amount_in / scale_num
    if p.kind == "v2":
        reserve_num = int(p.depth_usd / 2 * scale_num)
        reserve_tok = int(p.depth_usd / 2 / price_usd * scale_tok)
        if sell:
            out = v2_amount_out(amount_in, reserve_tok, reserve_num, p.fee)
        else:
            out = v2_amount_out(amount_in, reserve_num, reserve_tok, p.fee)
    else:
        out = swap_exact_input(_v3_book(p, price_usd), sell, amount_in).amount_out
    usd_out = out / scale_num if sell else out / scale_tok * price_usd
    fee = usd_in * p.fee / FEE_DENOMINATOR
    return fee, max(0.0, usd_in - usd_out - fee)


def profiles_from_snapshot(snapshot: Any, numeraire: str = "USDC") -> dict[str, PoolProfile]:
    """Profiles from a pool snapshot (``keeper quote --save FILE``, ``keeper.routing.snapshot``):
    for each token, its deepest pool against the numeraire. A V2 pool keeps its reserves' USD
    depth (twice the numeraire side); a V3 pool keeps its *active* liquidity over a +-25 %
    position (the USD value of that liquidity there), so trades near the snapshot's price see
    the snapshot's own depth. Tokens without such a pool keep the default profiles."""
    tokens = {t.address.lower(): t for t in snapshot.tokens}
    out: dict[str, PoolProfile] = {}
    for pool in snapshot.pools:
        t0, t1 = tokens[pool.token0.lower()], tokens[pool.token1.lower()]
        if numeraire not in (t0.symbol, t1.symbol) or t0.symbol == t1.symbol:
            continue
        token, num = (t1, t0) if t0.symbol == numeraire else (t0, t1)
        if pool.kind == "v2":
            reserve_num = int(pool.reserve0 if num is t0 else pool.reserve1)
            depth = 2.0 * reserve_num / 10**num.decimals
            prof = PoolProfile("v2", int(pool.fee), depth, 0.0, token.decimals)
        else:
            # raw price of token1 per token0; the profile's formula wants numeraire per token
            raw = (int(pool.sqrt_price_x96) / Q96) ** 2
            if num is t0:
                raw = 1.0 / raw
            sa, sb = math.sqrt(raw / 1.25), math.sqrt(raw * 1.25)
            value_raw = int(pool.liquidity) * (2 * math.sqrt(raw) - sa - raw / sb)
            depth = value_raw / 10**num.decimals
            prof = PoolProfile("v3", int(pool.fee), depth, 0.25, token.decimals)
        best = out.get(token.symbol)
        if best is None or prof.depth_usd > best.depth_usd:
            out[token.symbol] = prof
    return out
