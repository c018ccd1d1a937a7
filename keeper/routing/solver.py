"""The convex routing problem and its dual, solved in numpy.

Maximise the output of the buy token for an exact input ``X`` of the sell token over a set of
edges (directed pools). The Lagrange dual assigns a price ``p_t`` to every token (the buy token
is the numeraire, ``p = 1``); at given prices each edge trades until its marginal rate equals
``p_in / p_out`` (:meth:`Market.respond`), and the dual function
``G(p) = X p_sell + sum_e (p_out y_e - p_in x_e)`` is convex with gradient ``X e_sell + net(p)``.
At its minimum the flows conserve every intermediate token and use exactly ``X``: that price
vector is the optimality certificate (every used edge ends at marginal rate ``p_in/p_out``,
no unused edge starts above it).

* One free price (only sell->buy pools): closed form. Between consecutive breakpoints (a pool
  becoming active, a V3 tick crossed) the total input is ``C + D / sqrt(p)``; sort the
  breakpoints, accumulate ``C`` and ``D``, pick the interval that holds ``X`` and solve.
* Several free prices (multi-hop): Newton's method on ``G`` with the analytic Hessian
  (each edge adds a rank-one 2x2 block) and a backtracking line search, started from mid prices
  with the sell price set by the closed form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from keeper.routing.market import FloatArray, IntArray, Market

MAX_NEWTON_STEPS = 80
TOLERANCE = 1e-11


@dataclass(frozen=True)
class Solution:
    prices: FloatArray  # per token of the market (NaN = not in the problem)
    edges: IntArray
    x: FloatArray  # gross input per edge
    y: FloatArray  # output per edge
    iterations: int
    residual: float  # max relative flow imbalance


def waterfill(market: Market, edges: IntArray, p_out: FloatArray, amount: float) -> float | None:
    """The sell price at which the edges (all selling the same token) take exactly ``amount``.

    ``p_out`` is the (fixed) price of each edge's output token. Closed form; ``None`` when even
    exhausting every edge cannot absorb ``amount``.
    """
    g = market.g[edges][:, None]
    q = market.q[edges]
    liq = market.L[edges]
    # Segment k (k = 0..M, M = exhausted): x = c_k + D_k / sqrt(p) with p the sell price.
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(liq > 0, market.ain[edges] - liq / (g * q), market.ain[edges])
    big_d = liq / np.sqrt(g) * np.sqrt(p_out)[:, None]
    # Entering segment k happens at p = g q_k^2 p_out (k = 0 is activation).
    p_event = (g * q**2) * p_out[:, None]
    with np.errstate(invalid="ignore"):  # V2's unreachable boundary: inf - inf, dropped below
        delta_c, delta_d = _deltas(c, big_d)
    p_event = p_event.ravel()
    keep = (p_event > 0) & ((delta_c != 0) | (delta_d != 0)) & np.isfinite(delta_c)
    p_event, delta_c, delta_d = p_event[keep], delta_c[keep], delta_d[keep]
    if p_event.size == 0:
        return None
    order = np.argsort(-p_event, kind="stable")
    p_event, cum_c, cum_d = p_event[order], np.cumsum(delta_c[order]), np.cumsum(delta_d[order])
    # Input with the configuration after event i, at the next event's price (or p -> 0).
    nxt = np.append(p_event[1:], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        reach = np.where(cum_d > 0, cum_c + cum_d / np.sqrt(nxt), cum_c)
    hit = np.flatnonzero(reach >= amount)
    if not hit.size:
        return None
    i = int(hit[0])
    if cum_d[i] <= 0 or amount <= cum_c[i]:
        return float(p_event[i])
    return float((cum_d[i] / (amount - cum_c[i])) ** 2)


def _deltas(c: FloatArray, big_d: FloatArray) -> tuple[FloatArray, FloatArray]:
    zeros = np.zeros((c.shape[0], 1))
    prev_c = np.concatenate([zeros, c[:, :-1]], axis=1)
    prev_d = np.concatenate([zeros, big_d[:, :-1]], axis=1)
    return (c - prev_c).ravel(), (big_d - prev_d).ravel()


def _newton_step(hess: FloatArray, grad: FloatArray) -> FloatArray:
    """Newton step with Jacobi scaling (prices differ by many orders of magnitude) and a tiny
    relative ridge. Tokens with no active edge have zero gradient and do not move."""
    diag = np.diag(hess).copy()
    live = diag > 0
    step = np.zeros_like(grad)
    if not live.any():
        return step
    scale = 1.0 / np.sqrt(diag[live])
    scaled = hess[np.ix_(live, live)] * scale[:, None] * scale[None, :]
    scaled[np.diag_indices_from(scaled)] += 1e-10
    try:
        z = np.linalg.solve(scaled, -grad[live] * scale)
    except np.linalg.LinAlgError:
        z = -grad[live] * scale
    step[live] = z * scale
    return step


def _derivatives(
    market: Market, edges: IntArray, p: FloatArray, supply: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Gradient (net flow + supply) and Hessian of the dual at ``p``."""
    n = market.n_tokens
    ein, eout = market.edge_in[edges], market.edge_out[edges]
    x, y, d = market.respond(edges, p[ein] / p[eout])
    grad = np.bincount(eout, y, n) - np.bincount(ein, x, n) + supply
    pi, po = p[ein], p[eout]
    h_io = -d / (2 * np.sqrt(pi * po))
    cells = np.concatenate([ein * n + ein, eout * n + eout, ein * n + eout, eout * n + ein])
    weights = np.concatenate(
        [d * np.sqrt(po) / (2 * pi**1.5), d * np.sqrt(pi) / (2 * po**1.5), h_io, h_io]
    )
    hess = np.bincount(cells, weights, n * n).reshape(n, n)
    return grad, np.asarray(hess, dtype=np.float64)


def _gradient(market: Market, edges: IntArray, p: FloatArray, supply: FloatArray) -> FloatArray:
    n = market.n_tokens
    ein, eout = market.edge_in[edges], market.edge_out[edges]
    x, y, _ = market.respond(edges, p[ein] / p[eout])
    return np.bincount(eout, y, n) - np.bincount(ein, x, n) + supply


def _coordinate(
    market: Market, edges: IntArray, p: FloatArray, t: int, supply: float
) -> float | None:
    """The price of token ``t`` that balances its flows, the other prices fixed (closed form).

    With ``u = p_t^-1/2`` every edge out of ``t`` sells ``c + D u`` and every edge into ``t``
    pays ``e - F u`` between breakpoints (activation, tick crossings), so the net flow is
    piecewise linear and decreasing in ``u``: evaluate it at the breakpoints, interpolate.
    """
    ein, eout = market.edge_in[edges], market.edge_out[edges]
    outs, ins = edges[ein == t], edges[eout == t]
    p_out = p[market.edge_out[outs]][:, None]
    p_in = p[market.edge_in[ins]][:, None]
    with np.errstate(divide="ignore"):
        u_out = 1.0 / (market.q[outs] * np.sqrt(market.g[outs][:, None] * p_out))
    u_in = market.q[ins] * np.sqrt(market.g[ins][:, None] / p_in)
    points = np.concatenate([u_out.ravel(), u_in.ravel()])
    points = np.unique(points[np.isfinite(points) & (points > 0)])
    if points.size == 0:
        return None
    u = np.concatenate([[points[0] * 1e-3], points, [points[-1] * 1e3]])

    def flow(at: float) -> float:
        total = supply
        if outs.size:
            total -= float(market.respond(outs, 1.0 / (at**2 * p_out[:, 0]))[0].sum())
        if ins.size:
            total += float(market.respond(ins, p_in[:, 0] * at**2)[1].sum())
        return total

    # flow is decreasing in u: binary search for the piece holding its zero ...
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
    # ... where it is linear: interpolate.
    if f_hi >= f_lo:
        return None
    root = u[lo] - f_lo * (u[hi] - u[lo]) / (f_hi - f_lo)
    return float(1.0 / root**2) if root > 0 else None


def _line_search(
    market: Market,
    edges: IntArray,
    p: FloatArray,
    free: IntArray,
    step: FloatArray,
    supply: FloatArray,
    grad: FloatArray,
) -> float:
    """Exact line search: the root of the (increasing) directional derivative of the dual.

    Newton's length can be far off when an edge is about to (de)activate, so the step is
    sized by Illinois regula falsi with geometric bisection, keeping prices positive."""

    def slope(t: float) -> float:
        trial = p.copy()
        trial[free] = p[free] + t * step
        return float(_gradient(market, edges, trial, supply)[free] @ step)

    shrink = np.max(np.where(step < 0, -step / (0.9 * p[free]), 0.0), initial=0.0)
    high = 1.0 / shrink if shrink > 1 else 1.0
    low, f_low = 0.0, float(grad[free] @ step)
    if f_low >= 0:
        return 0.0
    f_high = slope(high)
    if f_high <= 0 or f_high <= 0.1 * -f_low:
        return high  # a full Newton step that lands close enough: the next one finishes
    side = 0
    for i in range(30):
        if i % 3 == 2:  # guard against slow one-sided convergence
            mid = np.sqrt(low * high) if low > 0 else high * 1e-3
        else:
            mid = low - f_low * (high - low) / (f_high - f_low)
        f_mid = slope(mid)
        if abs(f_mid) <= 1e-6 * abs(f_low) or high - low <= 1e-12 * high:
            return float(mid)
        if f_mid < 0:
            low, f_low = mid, f_mid
            if side == -1:
                f_high *= 0.5
            side = -1
        else:
            high, f_high = mid, f_mid
            if side == 1:
                f_low *= 0.5
            side = 1
    return float(low)


def _dual(market: Market, edges: IntArray, p: FloatArray, sell: int, amount: float) -> float:
    ein, eout = market.edge_in[edges], market.edge_out[edges]
    x, y, _ = market.respond(edges, p[ein] / p[eout])
    return float(amount * p[sell] + np.sum(p[eout] * y - p[ein] * x))


def solve(
    market: Market,
    edges: IntArray,
    tokens: IntArray,
    sell: int,
    buy: int,
    amount: float,
    start: FloatArray,
) -> Solution | None:
    """Optimal flows over ``edges`` (whose tokens are all in ``tokens``); None if infeasible."""
    ein, eout = market.edge_in[edges], market.edge_out[edges]
    p = np.full(market.n_tokens, np.nan)
    p[tokens] = start[tokens]
    p[buy] = 1.0
    from_sell = edges[ein == sell]
    p_sell = waterfill(market, from_sell, p[market.edge_out[from_sell]], amount)
    if p_sell is None:
        return None
    p[sell] = p_sell
    free = tokens[tokens != buy]
    if len(tokens) == 2:
        x, y, _ = market.respond(edges, p[ein] / p[eout])
        return Solution(p, edges, x, y, 0, 0.0)
    n = market.n_tokens
    iterations = 0
    residual = np.inf
    supply = np.zeros(n)
    supply[sell] = amount
    best = previous = np.inf
    stalled = 0
    for iterations in range(1, MAX_NEWTON_STEPS + 1):
        grad, hess = _derivatives(market, edges, p, supply)
        # Imbalance valued at the current prices, relative to the value sold.
        imbalance = np.abs(grad[free]) * p[free] / (amount * p[sell])
        residual = float(imbalance.max())
        if residual < TOLERANCE:
            break
        stalled = stalled + 1 if residual > 0.5 * best else 0
        best = min(best, residual)
        if stalled >= 4:
            break  # float round-off floor: the integer plan conserves exactly anyway
        # 1) exact one-dimensional minimisation per token (robust across kinks), at the start
        # and whenever the last Newton step did not cut the imbalance tenfold ...
        if iterations == 1 or residual > 0.1 * previous:
            for t in free[np.argsort(-imbalance)]:
                root = _coordinate(market, edges, p, int(t), float(supply[t]))
                if root is not None:
                    p[t] = root
            grad, hess = _derivatives(market, edges, p, supply)
        previous = residual
        # 2) ... then a Newton step (fast near the optimum) with an exact line search.
        step = _newton_step(hess[np.ix_(free, free)], grad[free])
        t_step = _line_search(market, edges, p, free, step, supply, grad)
        p[free] = p[free] + t_step * step
    x, y, _ = market.respond(edges, p[ein] / p[eout])
    return Solution(p, edges, x, y, iterations, residual)
