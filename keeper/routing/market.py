"""A snapshot compiled into numpy arrays: every pool as two directed piecewise-CP curves.

Each pool gives two *edges* (token0 -> token1 and back). Along an edge, the state is ``q``,
the square root of the marginal output-per-input price before the fee; trading lowers it.
Within a liquidity segment with liquidity ``L`` and fee factor ``g = 1 - fee``, moving ``q``
from ``q_k`` to ``q`` takes gross input ``L / g * (1/q - 1/q_k)`` and pays output
``L * (q_k - q)`` — the constant-product law. A V2 pair is one segment with
``L = sqrt(r0 * r1)``; a V3 pool has one segment per range between initialised ticks, up to
the edge of the snapshot's tick window, beyond which it offers nothing.

Arrays (``E`` edges, ``M`` segments, padded): ``q[E, M+1]`` boundaries (``q[:, 0]`` is the
current price, descending), ``L[E, M+1]`` segment liquidity (last column 0 = exhausted),
``ain``/``aout[E, M+1]`` cumulative gross input / output at each boundary (for trades of a
given size). The solver uses the same curves flattened, one row per segment (``seg_*``, see
:mod:`keeper.routing.dual`). Hop distances and mid prices depend only on the snapshot and are
compiled here too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from keeper.routing.constants import FEE_DENOMINATOR, MAX_TICK, MIN_TICK, Q96
from keeper.routing.snapshot import Snapshot, V2Pool, V3Pool
from keeper.routing.topology import hop_distances, tree_prices
from keeper.routing.v3math import TickBook, sqrt_ratio_at_tick

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Fraction of a V3 pool's known liquidity the solver leaves unused (see _keep_inside_capacity).
CAPACITY_MARGIN = 1e-9


def tick_book(pool: V3Pool) -> TickBook:
    return TickBook(
        address=pool.address,
        fee=pool.fee,
        tick_spacing=pool.tick_spacing,
        sqrt_price_x96=pool.sqrt_price_x96,
        tick=pool.tick,
        liquidity=pool.liquidity,
        ticks=tuple(t.index for t in pool.ticks),
        liquidity_net=tuple(t.liquidity_net for t in pool.ticks),
        window=pool.tick_window,
    )


def _sqrt_price(tick: int) -> float:
    return sqrt_ratio_at_tick(tick) / Q96


def _v3_segments(pool: V3Pool, zero_for_one: bool) -> tuple[list[float], list[float]]:
    """Boundaries (q, descending from the current price) and liquidity per segment."""
    sp = pool.sqrt_price_x96 / Q96
    liquidity = pool.liquidity  # exact: float sums would leave a residue after the last range
    lo, hi = pool.tick_window
    if zero_for_one:
        crossings = [
            (t.index, -t.liquidity_net) for t in reversed(pool.ticks) if t.index <= pool.tick
        ]
        end = _sqrt_price(max(lo, MIN_TICK))
        qs, to_q = [sp], (lambda s: s)
    else:
        crossings = [(t.index, t.liquidity_net) for t in pool.ticks if t.index > pool.tick]
        end = _sqrt_price(min(hi, MAX_TICK))
        qs, to_q = [1.0 / sp], (lambda s: 1.0 / s)
    liquidities: list[float] = []
    for index, delta in crossings:
        q = to_q(_sqrt_price(index))
        if q < qs[-1]:
            qs.append(q)
            liquidities.append(float(liquidity))
        liquidity = max(liquidity + delta, 0)
    q_end = to_q(end)
    if q_end < qs[-1]:
        qs.append(q_end)
        liquidities.append(float(liquidity))
    return qs, liquidities


@dataclass
class Market:
    """The routing view of a :class:`Snapshot` (build once per block, route many times)."""

    snapshot: Snapshot
    tokens: list[str] = field(init=False)
    token_index: dict[str, int] = field(init=False)
    books: dict[int, TickBook] = field(init=False)
    _lookup: dict[str, int] = field(init=False, repr=False)
    quote_cache: dict[tuple[int, int], Any] = field(init=False, default_factory=dict, repr=False)
    #: Per (sell, buy, max_hops): what routing that pair needs besides the amount (problem.py).
    problems: dict[tuple[int, int, int], Any] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        snap = self.snapshot
        self.tokens = [t.address for t in snap.tokens]
        self.token_index = {a: i for i, a in enumerate(self.tokens)}
        # Address or symbol (any case) -> index; the first token wins, as in Snapshot.token.
        self._lookup = {}
        for i, t in reversed(list(enumerate(snap.tokens))):
            self._lookup[t.symbol.lower()] = i
            self._lookup[t.address.lower()] = i
        self.books = {i: tick_book(p) for i, p in enumerate(snap.pools) if isinstance(p, V3Pool)}
        self._compile()

    def _compile(self) -> None:
        curves: list[tuple[list[float], list[float]]] = []
        ins: list[int] = []
        outs: list[int] = []
        fees: list[int] = []
        for pool in self.snapshot.pools:
            t0, t1 = self.token_index[pool.token0], self.token_index[pool.token1]
            for zero_for_one in (True, False):
                ins.append(t0 if zero_for_one else t1)
                outs.append(t1 if zero_for_one else t0)
                fees.append(pool.fee)
                if isinstance(pool, V2Pool):
                    r_in, r_out = (
                        (pool.reserve0, pool.reserve1)
                        if zero_for_one
                        else (pool.reserve1, pool.reserve0)
                    )
                    if r_in and r_out:
                        q0 = math.sqrt(r_out / r_in)
                        curves.append(([q0, 0.0], [math.sqrt(float(r_in) * float(r_out))]))
                    else:
                        curves.append(([0.0], []))
                else:
                    curves.append(_v3_segments(pool, zero_for_one))
        n_edges = len(curves)
        width = max((len(seg) for _, seg in curves), default=0)
        q = np.zeros((n_edges, width + 1))
        liq = np.zeros((n_edges, width + 1))
        for e, (bounds, seg) in enumerate(curves):
            q[e, : len(bounds)] = bounds
            q[e, len(bounds) :] = bounds[-1]
            liq[e, : len(seg)] = seg
        self.edge_in = np.asarray(ins, dtype=np.int64)
        self.edge_out = np.asarray(outs, dtype=np.int64)
        self.edge_pool = np.arange(n_edges, dtype=np.int64) // 2
        self.g = 1.0 - np.asarray(fees, dtype=np.float64) / FEE_DENOMINATOR
        self.inv_g = 1.0 / self.g
        self.q, self.L = q, liq
        # Cumulative input/output at each boundary; V2's boundary at q = 0 is never reached.
        with np.errstate(divide="ignore", invalid="ignore"):
            step_in = liq[:, :-1] / self.g[:, None] * (1.0 / q[:, 1:] - 1.0 / q[:, :-1])
            step_out = liq[:, :-1] * (q[:, :-1] - q[:, 1:])
        step_in = np.where(liq[:, :-1] > 0, step_in, 0.0)
        step_out = np.where(liq[:, :-1] > 0, step_out, 0.0)
        self.ain = np.concatenate([np.zeros((n_edges, 1)), np.cumsum(step_in, axis=1)], axis=1)
        self.aout = np.concatenate([np.zeros((n_edges, 1)), np.cumsum(step_out, axis=1)], axis=1)
        # The same curves flattened: one row per liquidity segment, grouped by edge, so that a
        # dual evaluation is a handful of numpy calls over all segments (no padding, no search).
        seg_edge, seg_k = np.nonzero(liq[:, :-1] > 0)
        self.seg_edge = seg_edge.astype(np.int64)
        self.seg_hi = q[seg_edge, seg_k]
        self.seg_lo = q[seg_edge, seg_k + 1]
        self.seg_L = liq[seg_edge, seg_k]
        self.seg_half_L = 0.5 * self.seg_L
        self.seg_L_g_hi = self.seg_L / (self.g[seg_edge] * self.seg_hi)  # L / (g hi)
        with np.errstate(divide="ignore"):
            self.seg_inv_hi, self.seg_inv_lo = 1.0 / self.seg_hi, 1.0 / self.seg_lo  # V2: inf
        self.seg_count = np.bincount(seg_edge, minlength=n_edges).astype(np.int64)
        self.seg_start = np.cumsum(self.seg_count) - self.seg_count
        self._keep_inside_capacity()
        self.single_segment = bool((self.seg_count == 1).all())  # a leaner dual
        # V2 pairs with reserves only: every curve is unbounded, trades need no segment search.
        self.v2_only = self.single_segment and not self.books
        self.q0, self.L0 = q[:, 0].copy(), liq[:, 0].copy()
        with np.errstate(divide="ignore", invalid="ignore"):  # dead edges: L0 = 0
            #: Relative move of 1/q per unit of gross input in the first segment, g q0 / L0.
            self.move0 = self.g * self.q0 / self.L0
        #: Token of each edge's input and output, as Python lists for per-leg code.
        self.ins: list[int] = self.edge_in.tolist()
        self.outs: list[int] = self.edge_out.tolist()
        self.is_v3 = np.array([i in self.books for i in range(len(self.snapshot.pools))], bool)
        #: Largest input each edge can take (inf: V2), as Python floats for the leg planner.
        self.capacity: list[float] = self.ain[:, -1].tolist()
        self._compile_topology()

    def _keep_inside_capacity(self) -> None:
        """Shrink each bounded (V3) curve's last segment by ``CAPACITY_MARGIN`` of the edge's
        capacity, in the solver's view only: a float optimum that uses a pool up to the end of
        its known liquidity then leaves integer rounding room inside it (the exact quote
        would otherwise fail or leave the tick window), at a cost of at most that fraction."""
        counts = self.seg_count
        last = (self.seg_start + counts - 1)[counts > 0]
        last = last[self.seg_lo[last] > 0]
        if not last.size:
            return
        edges = self.seg_edge[last]
        margin = CAPACITY_MARGIN * self.ain[edges, -1] * self.g[edges] / self.seg_L[last]
        inv_lo = np.maximum(self.seg_inv_lo[last] - margin, self.seg_inv_hi[last])
        self.seg_inv_lo[last] = inv_lo
        self.seg_lo[last] = 1.0 / inv_lo

    def _compile_topology(self) -> None:
        """Hop distances between tokens and mid prices: per snapshot, not per trade."""
        n = self.n_tokens
        live = np.flatnonzero(self.q[:, 0] > 0)
        ein, eout = self.edge_in[live], self.edge_out[live]
        self.live_edges, self.live_in, self.live_out = live, ein, eout
        self.hops = hop_distances(ein, eout, n)
        reach = np.isfinite(self.hops)
        self._unconnected = ~(reach & reach.T)  # [a, b]: no path from a to b or back
        degree = np.bincount(ein, minlength=n)
        roots = [int(t) for t in np.argsort(-degree, kind="stable")]
        weth = self.snapshot.weth
        if weth is not None and weth in self.token_index:
            roots.insert(0, self.token_index[weth])
        mid = self.q[live, 0] ** 2
        depth = self.L[live, 0] * self.q[live, 0]
        self.root_prices = tree_prices(ein, eout, mid, depth, n, roots)

    def mid_prices(self, numeraire: int) -> FloatArray:
        """Every token's mid price in ``numeraire`` units (NaN when unconnected)."""
        prices = self.root_prices / self.root_prices[numeraire]
        prices[self._unconnected[numeraire]] = np.nan
        prices[numeraire] = 1.0
        return prices

    def token_position(self, ref: str, field: str = "token") -> int:
        """Index of the token whose address or symbol is ``ref`` (:meth:`Snapshot.token`)."""
        found = self._lookup.get(ref.strip().lower()) if isinstance(ref, str) else None
        if found is None:
            return self.token_index[self.snapshot.token(ref, field).address]  # raises
        return found

    def clear_caches(self) -> None:
        """Forget memoised quotes and per-pair problems (they stay valid: for timing only)."""
        self.quote_cache.clear()
        self.problems.clear()

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @cached_property
    def spot_rate(self) -> FloatArray:
        """Marginal output per input of each edge at zero size, after the fee."""
        return np.asarray(self.g * self.q[:, 0] ** 2)

    @cached_property
    def depth_out(self) -> FloatArray:
        """Virtual reserve of the output token at the current price (L * q): a depth measure."""
        return np.asarray(self.L[:, 0] * self.q[:, 0])

    def output_for_input(self, edges: IntArray, amount: FloatArray) -> FloatArray:
        """Float output of each edge for a gross input (the curve, without integer rounding)."""
        if self.v2_only:  # one unbounded segment from the current price: no search
            z = self.move0[edges] * amount  # V2 pairs in a market have liquidity
            return np.asarray(self.depth_out[edges] * z / (1.0 + z))
        return self.trade(edges, amount)[0]

    def trade(self, edges: IntArray, amount: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Float output and marginal rate after the trade (after fee) for a gross input."""
        g = self.g[edges]
        ain = self.ain[edges]
        k = (ain[:, 1:] <= amount[:, None]).sum(axis=1)
        rows = np.arange(len(edges))
        qk = self.q[edges, k]
        lk = self.L[edges, k]
        with np.errstate(divide="ignore", invalid="ignore"):
            # z = relative move of 1/q in the segment; y = L q z / (1 + z) has no cancellation.
            z = g * (amount - ain[rows, k]) * qk / lk
            y = self.aout[edges, k] + lk * qk * z / (1.0 + z)
            rate = g * (qk / (1.0 + z)) ** 2
        return np.where(lk > 0, y, self.aout[edges, k]), np.where(lk > 0, rate, 0.0)
