"""Exact integer quotes: what the pool contract pays, to the wei."""

from __future__ import annotations

from dataclasses import dataclass

from keeper.routing import v2math
from keeper.routing.exceptions import AmountError, CapacityError, QuoteError
from keeper.routing.market import Market
from keeper.routing.snapshot import V2Pool
from keeper.routing.v3math import swap_exact_input


@dataclass(frozen=True)
class Quote:
    amount_in: int
    amount_out: int
    ticks_crossed: int = 0


def quote_edge(market: Market, edge: int, amount_in: int) -> Quote:
    """Exact output of directed pool ``edge`` (pool ``edge // 2``; even = token0 in)."""
    if amount_in <= 0:
        raise AmountError("amount_in", amount_in, "must be positive")
    # Quotes are pure functions of the snapshot: memoise them on the market.
    cache = market.quote_cache
    key = (edge, amount_in)
    if (hit := cache.get(key)) is not None:
        return hit
    if len(cache) > 200_000:
        cache.clear()
    result = _quote_edge(market, edge, amount_in)
    cache[key] = result
    return result


def _quote_edge(market: Market, edge: int, amount_in: int) -> Quote:
    index, zero_for_one = edge // 2, edge % 2 == 0
    pool = market.snapshot.pools[index]
    if isinstance(pool, V2Pool):
        r_in, r_out = (
            (pool.reserve0, pool.reserve1) if zero_for_one else (pool.reserve1, pool.reserve0)
        )
        return Quote(amount_in, v2math.amount_out(amount_in, r_in, r_out, pool.fee))
    result = swap_exact_input(market.books[index], zero_for_one, amount_in)
    if result.amount_in != amount_in:
        raise CapacityError(pool.address, amount_in, result.amount_in)
    return Quote(amount_in, result.amount_out, result.ticks_crossed)


def quote(market: Market, pool: str, token_in: str, amount_in: int) -> Quote:
    """Exact output of selling ``amount_in`` of ``token_in`` into ``pool`` (by address)."""
    for index, candidate in enumerate(market.snapshot.pools):
        if candidate.address.lower() == pool.lower():
            if token_in.lower() == candidate.token0.lower():
                return quote_edge(market, 2 * index, amount_in)
            if token_in.lower() == candidate.token1.lower():
                return quote_edge(market, 2 * index + 1, amount_in)
            raise QuoteError(candidate.address, f"token {token_in} is not one of its tokens")
    raise QuoteError(pool, "not in the snapshot")
