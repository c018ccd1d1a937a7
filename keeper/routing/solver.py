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
* Several free prices (multi-hop): damped Newton on ``G`` over the flattened segments of
  :class:`keeper.routing.dual.Dual` (one evaluation = a fixed handful of numpy calls over every
  segment; exact Hessian, a rank-one 2x2 block per edge, solved by Cholesky), started from mid
  prices with the sell price set by the closed form, or warm from a previous solution. The full
  step is nearly always taken (one evaluation per iteration); an exact line search runs only
  when it overshoots past an edge's (de)activation. Typically 5-10 iterations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from keeper.routing.dual import Dual
from keeper.routing.market import FloatArray, IntArray, Market

MAX_NEWTON_STEPS = 60
TOLERANCE = 1e-11
STALL_FLOOR = 1e-7  # below this, slow progress is float round-off, not a hard problem


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
    """Newton direction on the free prices (Cholesky, LAPACK ``posv``).

    A tiny relative ridge keeps the system positive definite; a token with no active edge has
    no curvature and (nearly always) no gradient: it gets a unit diagonal and does not move.
    ``numpy.linalg.solve`` is avoided on purpose: OpenBLAS threads its LU even for 9x9
    systems, which costs ~0.6 ms per call on a loaded machine instead of ~2 us."""
    from scipy.linalg.lapack import dposv

    diag = hess.diagonal().copy()
    hess[np.diag_indices_from(hess)] = np.where(diag > 0, diag * (1 + 1e-10), 1.0)
    _, step, info = dposv(hess, -grad, lower=1)
    if info != 0:  # not positive definite (round-off): scaled steepest descent
        return np.asarray(-grad / np.where(diag > 0, diag, 1.0))
    return np.asarray(step)


def _line_search(
    dual: Dual, p: FloatArray, step: FloatArray, slopes: tuple[float, float], high: float
) -> float:
    """Root of the (increasing) directional derivative of the dual along ``step`` in
    ``(0, high)``, given its values at both ends, by Illinois regula falsi with geometric
    bisection. Called only when the full Newton step overshoots (an edge (de)activates on the
    way)."""
    free = slice(0, -1)
    slope0, f_high = slopes
    low, f_low = 0.0, slope0
    trial = p.copy()

    def slope(t: float) -> float:
        trial[free] = p[free] + t * step
        return float(dual.gradient(trial)[free] @ step)

    side = 0
    for i in range(40):
        if i % 3 == 2:  # guard against slow one-sided convergence
            mid = np.sqrt(low * high) if low > 0 else high * 1e-3
        else:
            mid = low - f_low * (high - low) / (f_high - f_low)
        f_mid = slope(mid)
        if abs(f_mid) <= 0.1 * abs(slope0) or high - low <= 1e-12 * high:
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


def newton(dual: Dual, p: FloatArray) -> tuple[FloatArray, int, float]:
    """Minimise the dual from ``p`` (local order, buy last = 1): damped Newton, exact Hessian.

    Each iteration costs one evaluation when the full step is accepted (the usual case); the
    line search runs only when the step overshoots. Stops at a relative imbalance below
    ``TOLERANCE`` or when round-off stalls progress. Returns prices, iterations, residual."""
    free = slice(0, -1)
    value_sold = dual.amount
    grad, hess = dual.derivatives(p)
    best = residual = np.inf
    stalled = iterations = 0
    for iterations in range(1, MAX_NEWTON_STEPS + 1):  # noqa: B007 (returned)
        # Imbalance valued at the current prices, relative to the value sold.
        residual = float(np.max(np.abs(grad[free]) * p[free])) / (value_sold * p[dual.sell])
        if residual < TOLERANCE:
            break
        stalled = stalled + 1 if residual > 0.5 * best and residual < STALL_FLOOR else 0
        best = min(best, residual)
        if stalled >= 4:
            break  # float round-off floor: the integer plan conserves exactly anyway
        step = _newton_step(hess[free, free], grad[free])
        slope0 = float(grad[free] @ step)
        if slope0 >= 0:
            break
        # Prices stay positive and move at most tenfold per step: near-singular Hessians (a
        # token whose pools are nearly used up) otherwise propose absurd steps.
        ratio = step / p[free]
        t_max = min(
            1.0, 0.9 / max(float(-ratio.min()), 1e-300), 9.0 / max(float(ratio.max()), 1e-300)
        )
        trial = p.copy()
        trial[free] = p[free] + t_max * step
        grad_t, hess_t = dual.derivatives(trial)
        slope_t = float(grad_t[free] @ step)
        if slope_t > 0.1 * -slope0:  # overshoot: an edge (de)activated on the way
            t = _line_search(dual, p, step, (slope0, slope_t), t_max)
            trial[free] = p[free] + t * step
            grad_t, hess_t = dual.derivatives(trial)
        p, grad, hess = trial, grad_t, hess_t
    return p, iterations, residual


def solve(
    market: Market,
    edges: IntArray,
    tokens: IntArray,
    sell: int,
    buy: int,
    amount: float,
    start: FloatArray,
    *,
    warm: bool = False,
) -> Solution | None:
    """Optimal flows over ``edges`` (whose tokens are all in ``tokens``); None if infeasible.

    ``start`` holds a price per market token (buy-token units); unless ``warm`` (a previous
    solution's prices), the sell price is first set by :func:`waterfill`."""
    ein, eout = market.edge_in[edges], market.edge_out[edges]
    p = np.full(market.n_tokens, np.nan)
    p[tokens] = start[tokens]
    p[buy] = 1.0
    if not warm or not np.isfinite(p[sell]):
        from_sell = edges[ein == sell]
        p_sell = waterfill(market, from_sell, p[market.edge_out[from_sell]], amount)
        if p_sell is None:
            return None
        p[sell] = p_sell
    if len(tokens) == 2:
        x, y, _ = market.respond(edges, p[ein] / p[eout])
        return Solution(p, edges, x, y, 0, 0.0)
    dual = Dual(market, edges, tokens, sell, buy, amount)
    local, iterations, residual = newton(dual, p[dual.order])
    p[dual.order] = local
    x, y = dual.edge_flows(local)
    return Solution(p, edges, x, y, iterations, residual)
