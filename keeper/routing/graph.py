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
    uses them unless the snapshot holds an arbitrage cycle. Hop distances are compiled with
    the market, so this is a few array operations.
    """
    live = market.live_edges
    ein, eout = market.edge_in[live], market.edge_out[live]
    from_sell = market.hops[sell]
    near = from_sell + market.hops[:, buy] <= max_hops
    keep = near[ein] & near[eout] & (eout != sell) & (ein != buy)
    keep &= from_sell[ein] < max_hops  # the edge must start within reach
    return live[keep], np.flatnonzero(near)


def mid_prices(market: Market, numeraire: int) -> FloatArray:
    """Every token's mid price in ``numeraire`` units (NaN when unconnected).

    Each token is priced through its deepest pool towards an already priced token (depth =
    that pool's virtual reserve of the priced token, valued at its price), growing a tree from
    a root per connected component (WETH first) when the market compiles.
    """
    return market.mid_prices(numeraire)


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
    paths, _ = single_paths(market, edges, sell, buy, amount, max_hops)
    return max(paths, key=lambda found: found[1])[0] if paths else []


def single_paths(
    market: Market,
    edges: IntArray,
    sell: int,
    buy: int,
    amount: float,
    max_hops: int,
    every_length: bool = True,
) -> tuple[list[tuple[list[int], float]], float]:
    """For each number of hops, the single path (one pool per hop) with the largest float
    output, with that output; and the best zero-size rate over paths (buy per sell, after
    fees). One pass: dynamic programming over hops (the output is increasing in the input, so
    the best path into a token with ``h`` hops extends the largest amount that reaches its
    source with ``h - 1`` hops; the spot rate is the same recursion on marginal rates).
    Paths of different lengths differ in gas, hence one per length (``every_length``; else
    only the largest output)."""
    n = market.n_tokens
    ein, eout = market.edge_in[edges], market.edge_out[edges]
    spot_rates = market.spot_rate[edges]
    layer, rates = np.zeros(n), np.zeros(n)
    layer[sell], rates[sell] = amount, 1.0
    hops: list[tuple[IntArray, IntArray, FloatArray]] = []
    ends: list[tuple[int, float]] = []
    spot = 0.0
    for hop in range(max_hops):
        reached = np.flatnonzero(rates[ein] > 0)  # (an output may round to 0, a rate not)
        if not reached.size:
            break
        sources, targets = ein[reached], eout[reached]
        out = market.output_for_input(edges[reached], layer[sources])
        layer, next_rates = np.zeros(n), np.zeros(n)
        np.maximum.at(layer, targets, out)
        np.maximum.at(next_rates, targets, rates[sources] * spot_rates[reached])
        rates = next_rates
        hops.append((reached, targets, out))
        spot = max(spot, float(rates[buy]))
        if layer[buy] > 0:
            ends.append((hop, float(layer[buy])))
        layer[buy] = rates[buy] = 0.0  # edges out of the buy token are not candidates anyway
    if not every_length and ends:
        ends = [max(ends, key=lambda end: end[1])]
    paths = []
    for last, value in ends:
        path: list[int] = []
        token = buy
        for reached, targets, out in hops[last::-1]:  # the edge that fed each token best
            e = int(reached[np.argmax(np.where(targets == token, out, -1.0))])
            path.append(int(edges[e]))
            token = int(ein[e])
        paths.append((path[::-1], value))
    return paths, spot
