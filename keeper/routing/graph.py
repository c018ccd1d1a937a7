"""Token-graph helpers over a :class:`Market`, vectorised over edges.

Loops here run over hops or tokens (a handful), never over pools.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    from_sell = market.hops[sell]
    near = from_sell + market.hops[:, buy] <= max_hops
    starts = near & (from_sell < max_hops)  # an edge must start within reach ...
    starts[buy] = False  # ... and not from the buy token
    ends = near.copy()
    ends[sell] = False
    keep = starts[market.live_in] & ends[market.live_out]
    return market.live_edges[keep], near.nonzero()[0]


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


@dataclass(frozen=True)
class PathLayers:
    """The amount-independent part of the single-path search from ``sell`` to ``buy``: per
    hop, the edges reachable from the sell token (indices into ``edges``, their source and
    target tokens); and the best zero-size rate over paths (buy per sell, after fees)."""

    edges: IntArray
    sell: int
    buy: int
    hops: tuple[tuple[IntArray, IntArray, IntArray, IntArray], ...]
    spot: float


def path_layers(market: Market, edges: IntArray, sell: int, buy: int, max_hops: int) -> PathLayers:
    n = market.n_tokens
    ein, eout = market.edge_in[edges], market.edge_out[edges]
    spot_rates = market.spot_rate[edges]
    rates = np.zeros(n)
    rates[sell] = 1.0
    hops = []
    spot = 0.0
    for _ in range(max_hops):
        reached = rates[ein].nonzero()[0]  # rates are never negative
        if not reached.size:
            break
        sources, targets = ein[reached], eout[reached]
        next_rates = np.zeros(n)
        np.maximum.at(next_rates, targets, rates[sources] * spot_rates[reached])
        rates = next_rates
        hops.append((reached, sources, targets, edges[reached]))
        spot = max(spot, float(rates[buy]))
        rates[buy] = 0.0  # edges out of the buy token are not candidates anyway
    return PathLayers(edges, sell, buy, tuple(hops), spot)


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
    fees). See :func:`best_paths`."""
    layers = path_layers(market, edges, sell, buy, max_hops)
    return best_paths(market, layers, amount, every_length), layers.spot


def best_paths(
    market: Market, layers: PathLayers, amount: float, every_length: bool = True
) -> list[tuple[list[int], float]]:
    """For each number of hops, the single path with the largest float output, with that
    output (``every_length``; else only the largest output: paths of different lengths
    differ in gas). Dynamic programming over hops: the output is increasing in the input, so
    the best path into a token with ``h`` hops extends the largest amount that reaches its
    source with ``h - 1`` hops."""
    buy = layers.buy
    layer = np.zeros(market.n_tokens)
    layer[layers.sell] = amount
    outs: list[FloatArray] = []
    ends: list[tuple[int, float]] = []
    for hop, (_, sources, targets, hop_edges) in enumerate(layers.hops):
        out = market.output_for_input(hop_edges, layer[sources])
        layer = np.zeros(market.n_tokens)
        np.maximum.at(layer, targets, out)
        outs.append(out)
        if layer[buy] > 0:
            ends.append((hop, float(layer[buy])))
        layer[buy] = 0.0
    if not every_length and ends:
        ends = [max(ends, key=lambda end: end[1])]
    paths = []
    for last, value in ends:
        path: list[int] = []
        token = buy
        for hop in range(last, -1, -1):  # the edge that fed each token best
            _, sources, targets, hop_edges = layers.hops[hop]
            # Outputs are positive along the paths found: zero elsewhere.
            i = int((outs[hop] * (targets == token)).argmax())
            path.append(int(hop_edges[i]))
            token = int(sources[i])
        paths.append((path[::-1], value))
    return paths
