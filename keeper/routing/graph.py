"""Token-graph helpers over a :class:`Market`, vectorised over edges.

Loops here run over hops or tokens (a handful), never over pools.
"""

from __future__ import annotations

import numpy as np

from keeper.routing.market import FloatArray, IntArray, Market


def candidate_edges(
    market: Market, sell: int, buy: int, max_hops: int
) -> tuple[IntArray, IntArray]:
    """Edges and tokens that lie on some path of at most ``max_hops`` from sell to buy.

    Edges into the sell token and out of the buy token are left out: an optimal route never
    uses them unless the snapshot holds an arbitrage cycle.
    """
    live = np.flatnonzero(market.q[:, 0] > 0)
    ein, eout = market.edge_in[live], market.edge_out[live]
    n = market.n_tokens
    inf = np.iinfo(np.int64).max // 4
    from_sell = np.full(n, inf)
    from_sell[sell] = 0
    to_buy = np.full(n, inf)
    to_buy[buy] = 0
    for _ in range(max_hops):
        step = np.full(n, inf)
        np.minimum.at(step, eout, from_sell[ein] + 1)
        from_sell = np.minimum(from_sell, step)
        back = np.full(n, inf)
        np.minimum.at(back, ein, to_buy[eout] + 1)
        to_buy = np.minimum(to_buy, back)
    near = from_sell + to_buy <= max_hops
    keep = near[ein] & near[eout] & (eout != sell) & (ein != buy)
    keep &= from_sell[ein] < max_hops  # the edge must start within reach
    return live[keep], np.flatnonzero(near)


def mid_prices(market: Market, numeraire: int) -> FloatArray:
    """Every token's mid price in ``numeraire`` units (NaN when unconnected).

    Each token is priced through its deepest pool towards an already priced token (depth =
    that pool's virtual reserve of the priced token, valued at its price).
    """
    n = market.n_tokens
    price = np.full(n, np.nan)
    price[numeraire] = 1.0
    depth = np.full(n, -np.inf)
    depth[numeraire] = np.inf
    live = market.q[:, 0] > 0
    ein, eout = market.edge_in[live], market.edge_out[live]
    mid = market.q[live, 0] ** 2  # out per in, no fee
    reserve_out = market.depth_out[live]
    for _ in range(n):
        known = ~np.isnan(price[eout]) & np.isnan(price[ein])
        if not known.any():
            break
        value = np.where(known, reserve_out * np.nan_to_num(price[eout]), -np.inf)
        best = np.full(n, -np.inf)
        np.maximum.at(best, ein, value)
        chosen = known & (value == best[ein]) & (value > 0)
        price[ein[chosen]] = mid[chosen] * price[eout[chosen]]
        depth[ein[chosen]] = value[chosen]
    return price


def spot_rate(market: Market, edges: IntArray, sell: int, buy: int, max_hops: int) -> float:
    """Best zero-size rate (buy per sell, after fees) over paths of at most ``max_hops``."""
    n = market.n_tokens
    best = np.zeros(n)
    best[sell] = 1.0
    result = 0.0
    ein, eout = market.edge_in[edges], market.edge_out[edges]
    rate = market.spot_rate[edges]
    layer = best
    for _ in range(max_hops):
        nxt = np.zeros(n)
        np.maximum.at(nxt, eout, layer[ein] * rate)
        result = max(result, float(nxt[buy]))
        layer = nxt
    return result


def best_path(
    market: Market, edges: IntArray, sell: int, buy: int, amount: float, max_hops: int
) -> list[int]:
    """Edges of the single path (one pool per hop) with the largest float output."""
    n = market.n_tokens
    ein, eout = market.edge_in[edges], market.edge_out[edges]
    layer = np.full(n, -np.inf)
    layer[sell] = amount
    parents: list[IntArray] = []
    best_value, best_layer = -np.inf, -1
    for hop in range(max_hops):
        reached = np.isfinite(layer[ein]) & (layer[ein] > 0)
        out = np.full(len(edges), -np.inf)
        if reached.any():
            out[reached] = market.output_for_input(edges[reached], layer[ein[reached]])
        nxt = np.full(n, -np.inf)
        np.maximum.at(nxt, eout, out)
        parent = np.full(n, -1)
        hit = np.isfinite(out) & (out == nxt[eout])
        parent[eout[hit]] = np.flatnonzero(hit)
        parents.append(parent)
        if nxt[buy] > best_value:
            best_value, best_layer = float(nxt[buy]), hop
        layer = nxt
    if best_layer < 0:
        return []
    path: list[int] = []
    token = buy
    for hop in range(best_layer, -1, -1):
        e = int(parents[hop][token])
        path.append(int(edges[e]))
        token = int(ein[e])
    return path[::-1]
