"""USD prices that one block's manipulation cannot move: TWAPs and several sources.

Sources per token (each quoted against a USD stablecoin, directly or through WETH):

* ``v3-twap`` — Uniswap V3 ``observe([window, 0])``: the mean tick over the window,
  ``tick = floor((cum_now - cum_ago) / window)``, price ``1.0001^tick * 10^(dec0 - dec1)``. A
  swap that pushes the price for one block moves the TWAP by at most ``1 / window`` of the
  push. Pools whose observation history is shorter than the window cannot answer (``OLD``);
  they are skipped, not trusted at spot.
* ``v3-spot`` / ``v2-spot`` — ``slot0`` and ``getReserves``; cheap to move, used only as
  extra voters.

The price is the TWAP when one exists and every other source agrees with it within
``max_deviation``; otherwise the median of at least ``min_sources`` agreeing sources. Anything
else raises :class:`~keeper.strategy.exceptions.PriceError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median
from typing import Any

from keeper.strategy.exceptions import PriceError

_OBSERVE = "observe(uint32[])"
_SLOT0 = "slot0()"
_RESERVES = "getReserves()"


def tick_to_price(tick: float, decimals0: int, decimals1: int) -> float:
    """Human price of token0 in token1 at ``tick``."""
    return float(1.0001**tick * 10 ** (decimals0 - decimals1))


def mean_tick(cum_ago: int, cum_now: int, window: int) -> int:
    """Arithmetic mean tick, rounded toward negative infinity (as Uniswap's OracleLibrary)."""
    return (cum_now - cum_ago) // window


def _call(
    w3: Any, to: str, signature: str, types: list[str], args: list[Any], out: list[str], block: Any
) -> tuple[Any, ...]:
    from eth_abi import decode, encode
    from eth_utils import keccak

    data = keccak(text=signature)[:4] + encode(types, args)
    raw = w3.eth.call({"to": to, "data": "0x" + data.hex()}, block)
    return tuple(decode(out, bytes(raw)))


@dataclass(frozen=True)
class PoolRef:
    dex: str  # "uniswap-v2" | "uniswap-v3"
    address: str
    token0: str  # symbols
    token1: str
    decimals0: int
    decimals1: int


def pool_refs(market: Any) -> list[PoolRef]:
    by_addr = {t.address: t for t in market.tokens}
    refs = []
    for p in market.pools:
        t0, t1 = by_addr.get(p.token0), by_addr.get(p.token1)
        if t0 is None or t1 is None or "fee-on-transfer" in (t0.kind, t1.kind):
            continue
        refs.append(PoolRef(p.dex, p.address, t0.symbol, t1.symbol, t0.decimals, t1.decimals))
    return refs


def read_pool_prices(
    w3: Any, pool: PoolRef, window: int, block: Any = "latest"
) -> dict[str, float]:
    """Price of token0 in token1 from each source the pool offers (``{source: price}``)."""
    out: dict[str, float] = {}
    if pool.dex == "uniswap-v3":
        (sqrt_p, *_rest) = _call(
            w3,
            pool.address,
            _SLOT0,
            [],
            [],
            ["uint160", "int24", "uint16", "uint16", "uint16", "uint8", "bool"],
            block,
        )
        out["v3-spot"] = tick_to_price(
            2 * math.log(sqrt_p / 2**96, 1.0001), pool.decimals0, pool.decimals1
        )
        from web3.exceptions import ContractLogicError

        try:
            cums, _ = _call(
                w3,
                pool.address,
                _OBSERVE,
                ["uint32[]"],
                [[window, 0]],
                ["int56[]", "uint160[]"],
                block,
            )
            out["v3-twap"] = tick_to_price(
                mean_tick(cums[0], cums[1], window), pool.decimals0, pool.decimals1
            )
        except ContractLogicError:
            pass  # 'OLD': the pool's observation history is shorter than the window
    else:
        r0, r1, _ = _call(
            w3, pool.address, _RESERVES, [], [], ["uint112", "uint112", "uint32"], block
        )
        if r0 and r1:
            out["v2-spot"] = (r1 / 10**pool.decimals1) / (r0 / 10**pool.decimals0)
    return out


def combine(
    token: str, quotes: dict[str, list[float]], max_deviation: float, min_sources: int
) -> float:
    """One price from several sources' quotes (see the module docstring)."""
    values = [v for vs in quotes.values() for v in vs if v > 0 and math.isfinite(v)]
    if not values:
        raise PriceError(token, "no source could price it")
    twaps = quotes.get("v3-twap", [])
    if twaps:
        anchor = median(twaps)
        off = [v for v in values if abs(v / anchor - 1) > max_deviation]
        if off:
            worst = max(off, key=lambda v: abs(v / anchor - 1))
            raise PriceError(
                token,
                f"a source is {abs(worst / anchor - 1) * 100:.2f}% away from the TWAP "
                f"{anchor:.6g} (limit {max_deviation * 100:.2f}%): possible manipulation",
            )
        return anchor
    mid = median(values)
    agreeing = [v for v in values if abs(v / mid - 1) <= max_deviation]
    if len(agreeing) < min_sources:
        raise PriceError(
            token, f"only {len(agreeing)} agreeing source(s) and no TWAP (need {min_sources})"
        )
    return float(median(agreeing))


@dataclass
class PriceOracle:
    """USD prices for a market's tokens; ``usd`` names the stablecoins valued at $1."""

    w3: Any
    pools: list[PoolRef]
    usd: tuple[str, ...] = ("USDC", "USDT", "DAI")
    window: int = 1800
    max_deviation: float = 0.02
    min_sources: int = 2
    bridge: str = "WETH"

    def _quotes(self, token: str, quote: str, block: Any) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for pool in self.pools:
            if {pool.token0, pool.token1} != {token, quote}:
                continue
            for src, p in read_pool_prices(self.w3, pool, self.window, block).items():
                out.setdefault(src, []).append(p if pool.token0 == token else 1.0 / p)
        return out

    def price(self, token: str, block: Any = "latest") -> float:
        if token in self.usd:
            return 1.0
        quotes: dict[str, list[float]] = {}
        for stable in self.usd:
            for src, ps in self._quotes(token, stable, block).items():
                quotes.setdefault(src, []).extend(ps)
        if not quotes and token != self.bridge:
            bridge_usd = self.price(self.bridge, block)
            for src, ps in self._quotes(token, self.bridge, block).items():
                quotes.setdefault(src, []).extend(p * bridge_usd for p in ps)
        return combine(token, quotes, self.max_deviation, self.min_sources)

    def prices(self, tokens: list[str], block: Any = "latest") -> dict[str, float]:
        return {t: self.price(t, block) for t in tokens}
