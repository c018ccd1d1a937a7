"""Everything about one routing question that does not depend on the amount.

For a (sell, buy, max_hops) on a compiled market: the candidate edges and tokens, the start
prices, the dual's index arrays, the sell token's supply curve at the start prices and the
hop layers of the single-path search. Built on the first route of a pair and kept on the
market (a snapshot is immutable): the keeper routes the same pairs many times per block —
netting alone routes each pair 4-6 times — and building this is a third of a cold small route.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from keeper.routing.dual import Dual
from keeper.routing.graph import PathLayers, candidate_edges, path_layers
from keeper.routing.market import FloatArray, IntArray, Market
from keeper.routing.solver import SupplyCurve, supply_curve


@dataclass(frozen=True)
class Problem:
    sell: int
    buy: int
    max_hops: int
    edges: IntArray
    tokens: IntArray
    mids: FloatArray  # mid price of every token in buy units (NaN: unconnected)
    start: FloatArray  # the solver's start prices (1 where unconnected)
    dual: Dual  # index arrays only: the amount is set per solve
    curve: SupplyCurve | None  # the sell token's supply curve at the start prices
    layers: PathLayers  # hop layers of the single-path search, and the spot rate

    @property
    def spot(self) -> float:
        return self.layers.spot


def problem(market: Market, sell: int, buy: int, max_hops: int) -> Problem | None:
    """The cached problem for this pair (None: no pool path within ``max_hops``)."""
    key = (sell, buy, max_hops)
    if key in market.problems:
        return market.problems[key]
    edges, tokens = candidate_edges(market, sell, buy, max_hops)
    found = None
    if edges.size:
        mids = market.mid_prices(buy)
        start = mids.copy()
        start[np.isnan(mids)] = 1.0
        from_sell = edges[market.edge_in[edges] == sell]
        curve = supply_curve(market, from_sell, start[market.edge_out[from_sell]])
        dual = Dual(market, edges, tokens, sell, buy, 0.0)
        layers = path_layers(market, edges, sell, buy, max_hops)
        found = Problem(sell, buy, max_hops, edges, tokens, mids, start, dual, curve, layers)
    market.problems[key] = found
    return found
