"""The routing dual over a set of edges, flattened into liquidity segments.

Give every token a price ``p`` (the buy token is the numeraire, last in local order). Along an
edge the state ``t = sqrt(p_in / (g p_out))`` is where the edge stops trading (its marginal
rate after the fee equals ``p_in / p_out``). Within a segment ``[lo, hi]`` of liquidity ``L``
the edge has then paid ``y = L (hi - c)`` for ``x = L / g (hi - c) / (c hi)`` with
``c = clip(t, lo, hi)``: a segment above ``t`` is untouched, one below it is used up. Summing
over every segment of every edge needs no per-edge search, so one evaluation of the dual's
gradient and Hessian is a fixed handful of numpy calls, however many pools and V3 ranges.

* gradient = net flow per token + the supply of the sell token;
* Hessian = sum over the segments that hold ``t`` of ``w v v^T``, ``w = L t / 2``,
  ``v = (-sqrt(p_out) / p_in, 1 / sqrt(p_out))`` on (in, out): a rank-one 2x2 block per edge.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from keeper.routing.market import FloatArray, IntArray, Market


class Dual:
    """The dual of one routing problem (edges, tokens, sell, buy, amount), ready to evaluate.

    Local token order puts the buy token (price 1) last, so the free prices are ``p[:-1]``.
    """

    def __init__(
        self, market: Market, edges: IntArray, tokens: IntArray, sell: int, buy: int, amount: float
    ) -> None:
        order = np.append(tokens[tokens != buy], buy)
        local = np.full(market.n_tokens, -1, dtype=np.int64)
        local[order] = np.arange(len(order))
        m = len(order)
        self.market, self.edges, self.order, self.m = market, edges, order, m
        self.sell, self.amount = int(local[sell]), amount
        ein = local[market.edge_in[edges]]
        eout = local[market.edge_out[edges]]
        self.ein, self.eout = ein, eout
        self.inv_g = 1.0 / market.g[edges]
        counts = market.seg_count[edges]
        if counts.size and counts.min() == 1 and counts.max() == 1:
            segments = market.seg_start[edges]
            self.seg_edge: IntArray | None = None  # one segment per edge (V2 only)
        else:
            total = int(counts.sum())
            shift = np.repeat(market.seg_start[edges] - (np.cumsum(counts) - counts), counts)
            segments = shift + np.arange(total)
            self.seg_edge = np.repeat(np.arange(len(edges)), counts)
        self.lo = market.seg_lo[segments]
        self.hi = market.seg_hi[segments]
        self.L = market.seg_L[segments]
        edge_of = self.seg_edge if self.seg_edge is not None else slice(None)
        self.L_g_hi = self.L * self.inv_g[edge_of] / self.hi
        self.seg_in = ein[edge_of]
        self.seg_out = eout[edge_of]
        cells = [ein * m + ein, eout * m + eout, ein * m + eout, eout * m + ein]
        self.cells = np.concatenate(cells)
        self.evaluations = 0

    def flows(self, p: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Per segment: input ``x``, output ``y`` and the edge state ``t`` (per edge)."""
        t = np.sqrt(p[self.ein] / p[self.eout] * self.inv_g)
        ts = t if self.seg_edge is None else t[self.seg_edge]
        c = np.minimum(np.maximum(ts, self.lo), self.hi)
        diff = self.hi - c
        return self.L_g_hi * diff / c, self.L * diff, t

    def _net(self, x: FloatArray, y: FloatArray) -> FloatArray:
        """Net flow per token plus the sell supply: the gradient."""
        self.evaluations += 1
        grad = np.bincount(self.seg_out, y, self.m) - np.bincount(self.seg_in, x, self.m)
        grad[self.sell] += self.amount
        return cast(FloatArray, grad)

    def gradient(self, p: FloatArray) -> FloatArray:
        x, y, _ = self.flows(p)
        return self._net(x, y)

    def derivatives(self, p: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Gradient and Hessian at ``p``."""
        x, y, t = self.flows(p)
        grad = self._net(x, y)
        m = self.m
        ts = t if self.seg_edge is None else t[self.seg_edge]
        w = np.where((ts > self.lo) & (ts < self.hi), self.L, 0.0)
        if self.seg_edge is not None:
            w = np.bincount(self.seg_edge, w, len(t))
        w *= 0.5 * t
        p_in, p_out = p[self.ein], p[self.eout]
        wp = w / p_in
        weights = np.concatenate([wp * p_out / p_in, w / p_out, -wp, -wp])
        hess = np.bincount(self.cells, weights, m * m).reshape(m, m)
        return grad, cast(FloatArray, hess)

    def edge_flows(self, p: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Gross input and output per edge at ``p``."""
        x, y, t = self.flows(p)
        if self.seg_edge is None:
            return x, y
        n = len(t)
        return (
            cast(FloatArray, np.bincount(self.seg_edge, x, n)),
            cast(FloatArray, np.bincount(self.seg_edge, y, n)),
        )
