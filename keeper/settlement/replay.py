"""Pool state after routes execute: what a later route in the same settlement trades against.

The executor runs a settlement's interactions one after another, so a pool that two residual
routes share is moved by the first before the second reaches it. Quoting the second route on
the state the first leaves (instead of on the block's snapshot) makes its quote exact: V2
reserves take the input and pay the output; a V3 pool is swapped through its tick book, as
``UniswapV3Pool.swap`` does, to its new price, tick and in-range liquidity.
"""

from __future__ import annotations

from collections.abc import Iterable

from keeper.routing import Route, Snapshot, V2Pool, V3Pool
from keeper.routing.exceptions import QuoteError
from keeper.routing.market import tick_book
from keeper.routing.v3math import swap_exact_input


def _after_v2(pool: V2Pool, token_in: str, amount_in: int, amount_out: int) -> V2Pool:
    if token_in.lower() == pool.token0.lower():
        reserves = (pool.reserve0 + amount_in, pool.reserve1 - amount_out)
    else:
        reserves = (pool.reserve0 - amount_out, pool.reserve1 + amount_in)
    if min(reserves) < 0:
        raise QuoteError(pool.address, f"pays {amount_out}, more than its reserve")
    return pool.model_copy(update={"reserve0": reserves[0], "reserve1": reserves[1]})


def _after_v3(pool: V3Pool, token_in: str, amount_in: int) -> V3Pool:
    zero_for_one = token_in.lower() == pool.token0.lower()
    swap = swap_exact_input(tick_book(pool), zero_for_one, amount_in)
    return pool.model_copy(
        update={
            "sqrt_price_x96": swap.sqrt_price_x96,
            "tick": swap.tick,
            "liquidity": swap.liquidity,
        }
    )


def after_routes(snapshot: Snapshot, routes: Iterable[Route]) -> Snapshot:
    """``snapshot`` with every leg of ``routes`` applied, in order (the executor's order)."""
    pools = {p.address.lower(): p for p in snapshot.pools}
    for route in routes:
        for leg in route.legs:
            key = leg.pool.lower()
            pool = pools[key]
            if isinstance(pool, V2Pool):
                pools[key] = _after_v2(pool, leg.token_in, leg.amount_in, leg.amount_out)
            else:
                pools[key] = _after_v3(pool, leg.token_in, leg.amount_in)
    return snapshot.model_copy(
        update={"pools": tuple(pools[p.address.lower()] for p in snapshot.pools)}
    )


def route_pools(routes: Iterable[Route]) -> set[str]:
    """Lower-case addresses of every pool the routes trade through."""
    return {leg.pool.lower() for route in routes for leg in route.legs}
