"""The token graph of a snapshot, compiled once per block: hop distances and mid prices.

Both depend only on the snapshot, so :class:`keeper.routing.market.Market` computes them when
it compiles and ``route()`` only indexes them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def hop_distances(edge_in: IntArray, edge_out: IntArray, n: int) -> FloatArray:
    """``d[a, b]``: fewest edges on a path from token ``a`` to ``b`` (``inf``: unreachable).

    Breadth-first search from every token (scipy's csgraph, in C): O(n * edges)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import shortest_path

    if n == 0:
        return np.zeros((0, 0))
    adjacency = csr_matrix((np.ones(len(edge_in)), (edge_in, edge_out)), shape=(n, n))
    return np.asarray(shortest_path(adjacency, directed=True, unweighted=True), dtype=np.float64)


def tree_prices(
    edge_in: IntArray,
    edge_out: IntArray,
    mid: FloatArray,
    depth_out: FloatArray,
    n: int,
    roots: list[int],
) -> FloatArray:
    """Every token's mid price in units of its component's root (the first of ``roots`` that
    reaches it), each token priced through its deepest pool towards an already priced token
    (depth = that pool's virtual reserve of the priced token, valued at its price).

    ``mid`` is each edge's output per input at the current price, before the fee."""
    price = np.full(n, np.nan)
    for root in roots:
        if not np.isnan(price[root]):
            continue
        price[root] = 1.0
        for _ in range(n):
            known = ~np.isnan(price[edge_out]) & np.isnan(price[edge_in])
            if not known.any():
                break
            value = np.where(known, depth_out * np.nan_to_num(price[edge_out]), -np.inf)
            best = np.full(n, -np.inf)
            np.maximum.at(best, edge_in, value)
            chosen = known & (value == best[edge_in]) & (value > 0)
            if not chosen.any():
                break
            price[edge_in[chosen]] = mid[chosen] * price[edge_out[chosen]]
    return price
