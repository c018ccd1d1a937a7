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

from functools import cached_property
from typing import cast

import numpy as np

from keeper.routing.market import FloatArray, IntArray, Market


class Segments:
    """The liquidity segments of a set of edges, flattened (``edge`` = local edge of each)."""

    def __init__(self, market: Market, edges: IntArray) -> None:
        self.n_edges = len(edges)
        if market.single_segment:  # one segment per edge, dead ones too: edge e has segment e
            index = edges
            self.edge: IntArray | None = None  # one segment per edge: no reductions
        else:
            counts = market.seg_count[edges]
            shift = np.repeat(market.seg_start[edges] - (np.cumsum(counts) - counts), counts)
            index = shift + np.arange(len(shift))
            self.edge = np.repeat(np.arange(len(edges)), counts)
        self.hi = market.seg_hi[index]
        self.L_g_hi = market.seg_L_g_hi[index]
        self._market, self.index = market, index
        self.bounded = not market.v2_only  # V2 segments run to q = 0: no lower clip

    @cached_property
    def lo(self) -> FloatArray:
        return cast(FloatArray, self._market.seg_lo[self.index])

    @cached_property
    def L(self) -> FloatArray:  # noqa: N802 (the liquidity, as in the formulas)
        return cast(FloatArray, self._market.seg_L[self.index])

    @property
    def inv_hi(self) -> FloatArray:
        return cast(FloatArray, self._market.seg_inv_hi[self.index])

    @property
    def inv_lo(self) -> FloatArray:
        """``1 / lo`` (inf for a V2 pair, never used up)."""
        return cast(FloatArray, self._market.seg_inv_lo[self.index])

    def spread(self, per_edge: FloatArray) -> FloatArray:
        """An edge quantity repeated for each of its segments."""
        return per_edge if self.edge is None else per_edge[self.edge]

    def per_edge(self, per_segment: FloatArray) -> FloatArray:
        """Sum of a segment quantity over each edge's segments."""
        if self.edge is None:
            return per_segment
        return cast(FloatArray, np.bincount(self.edge, per_segment, self.n_edges))

    def clip(self, t: FloatArray) -> FloatArray:
        """``c`` per segment: the edge states ``t`` clipped into each segment."""
        ts = self.spread(t)
        return np.minimum(np.maximum(ts, self.lo) if self.bounded else ts, self.hi)


class Dual:
    """The dual of one routing problem (edges, tokens, sell, buy, amount), ready to evaluate.

    Local token order puts the buy token (price 1) last, so the free prices are ``p[:-1]``.
    """

    def __init__(
        self, market: Market, edges: IntArray, tokens: IntArray, sell: int, buy: int, amount: float
    ) -> None:
        # A handful of tokens: Python lists are cheaper than numpy here.
        order = np.array([t for t in tokens.tolist() if t != buy] + [buy])
        local = np.empty(market.n_tokens, dtype=np.int64)
        local[order] = np.arange(len(order))
        self.edges, self.order, self.m = edges, order, len(order)
        self.sell, self.amount = int(local[sell]), amount
        ein = local[market.edge_in[edges]]
        eout = local[market.edge_out[edges]]
        self.ein, self.eout = ein, eout
        self.inv_g = market.inv_g[edges]
        self.segments = seg = Segments(market, edges)
        self.seg_in, self.seg_out = seg.spread(ein), seg.spread(eout)
        self.half_L = market.seg_half_L[seg.index]
        # Hessian cells of the free prices (row-major k x k); cells touching the buy token's
        # fixed price (local index k) go to one spare bin past the end: with the buy token's
        # row and column offsets at k * k, every such cell sums to k * k or more.
        k = self.m - 1
        row = np.array([*range(0, k * k, k), k * k])
        col = np.array([*range(k), k * k])
        rows, cols = np.concatenate((ein, eout, ein, eout)), np.concatenate((ein, eout, eout, ein))
        self.cells = np.minimum(row[rows] + col[cols], k * k)
        self.diagonal = np.arange(0, k * k, k + 1)
        self.ridge = np.empty(k)  # Newton's relative ridge on the diagonal
        self.ridge.fill(1 + 1e-10)
        # The Hessian's weights per cell, written in place: (in, in), (out, out), 2 x (in, out).
        self._weights = np.empty((4, len(edges)))
        self._weight_rows = tuple(self._weights)
        # Each evaluation's flows, written in place side by side: the output ``y`` of every
        # segment (to its out token) and minus its input ``x`` (from its in token), so that
        # the net flow per token is one bincount.
        self._flows = np.empty((2, len(seg.hi)))
        self._flow_rows = tuple(self._flows)
        self._flow_tokens = np.concatenate((self.seg_out, self.seg_in))
        self._minus_L_g_hi = -seg.L_g_hi
        self.evaluations = 0

    def gradient(self, p: FloatArray) -> FloatArray:
        """Net flow per token plus the sell supply at ``p``; :meth:`hessian` then reuses this
        evaluation (``p`` may be changed afterwards)."""
        self.evaluations += 1
        seg = self.segments
        p_in, p_out = p[self.ein], p[self.eout]
        ratio = p_in / p_out
        t = np.sqrt(ratio * self.inv_g)
        c = seg.clip(t)
        diff = seg.hi - c
        y, minus_x = self._flow_rows  # y = L (hi - c), x = L / g (hi - c) / (c hi)
        np.multiply(seg.L, diff, out=y)
        np.multiply(self._minus_L_g_hi, diff, out=minus_x)
        np.divide(minus_x, c, out=minus_x)
        self._last = (p_in, p_out, ratio, t, c)
        grad = np.bincount(self._flow_tokens, self._flows.ravel(), self.m)
        grad[self.sell] += self.amount
        return cast(FloatArray, grad)

    def hessian(self) -> FloatArray:
        """Hessian of the free prices at the last :meth:`gradient`, flattened row-major with
        one spare cell at the end."""
        seg = self.segments
        p_in, p_out, ratio, t, c = self._last
        w = seg.per_edge(self.half_L * (c == seg.spread(t))) * t  # segments holding t
        wp = w / p_in
        in_in, out_out, in_out, out_in = self._weight_rows
        np.divide(wp, ratio, out=in_in)
        np.divide(w, p_out, out=out_out)
        np.negative(wp, out=in_out)
        out_in[:] = in_out
        k = self.m - 1
        return cast(FloatArray, np.bincount(self.cells, self._weights.ravel(), k * k + 1))

    def edge_flows(self, p: FloatArray | None = None) -> tuple[FloatArray, FloatArray]:
        """Gross input and output per edge at ``p`` (default: at the last :meth:`gradient`)."""
        if p is not None:
            self.gradient(p)
        y, minus_x = self._flow_rows
        return self.segments.per_edge(-minus_x), self.segments.per_edge(y.copy())


def balance_token(dual: Dual, p: FloatArray, t: int) -> float | None:
    """The price of free token ``t`` (local index) that balances its flows, the others fixed.

    With ``u = p_t^-1/2`` every segment out of ``t`` takes an input linear in ``u`` and every
    segment into ``t`` pays an output linear in ``u`` while it holds the edge's state; so the
    net flow is piecewise linear and decreasing in ``u``, with breakpoints where an edge's
    state crosses a segment boundary. Binary search over them, then interpolate: exact."""
    seg = dual.segments
    out_of, into = seg.spread(dual.ein) == t, seg.spread(dual.eout) == t
    g = seg.spread(1.0 / dual.inv_g)
    k_out = np.sqrt(g[out_of] * p[seg.spread(dual.eout)[out_of]])
    k_in = np.sqrt(g[into] / p[seg.spread(dual.ein)[into]])
    ends = (seg.inv_hi[out_of], seg.inv_lo[out_of], seg.hi[into], seg.lo[into])
    points = np.concatenate([ends[0] / k_out, ends[1] / k_out, ends[2] * k_in, ends[3] * k_in])
    points = np.unique(points[np.isfinite(points) & (points > 0)])
    if points.size == 0:
        return None
    u = np.concatenate([[points[0] * 1e-3], points, [points[-1] * 1e3]])
    trial = p.copy()

    def flow(at: float) -> float:
        trial[t] = 1.0 / (at * at)
        return float(dual.gradient(trial)[t])

    lo, hi = 0, len(u) - 1
    f_lo, f_hi = flow(u[lo]), flow(u[hi])
    if f_lo < 0:  # zero below the first breakpoint: extrapolate the first piece
        hi, f_hi = 1, flow(u[1])
    elif f_hi > 0:  # zero above the last breakpoint: extrapolate the last piece
        lo, f_lo = hi - 1, flow(u[hi - 1])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        f_mid = flow(u[mid])
        if f_mid >= 0:
            lo, f_lo = mid, f_mid
        else:
            hi, f_hi = mid, f_mid
    if f_hi >= f_lo:
        return None
    root = u[lo] - f_lo * (u[hi] - u[lo]) / (f_hi - f_lo)
    return float(1.0 / root**2) if root > 0 else None
