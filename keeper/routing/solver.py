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
    for iterations in range(1, MAX_NEWTON_STEPS + 1):  # noqa: B007
        ratio = p[ein] / p[eout]
        x, y, d = market.respond(edges, ratio)
        grad = np.bincount(eout, y, n) - np.bincount(ein, x, n)
        grad[sell] += amount
        scale = np.bincount(ein, x, n) + np.bincount(eout, y, n)
        scale[sell] += amount
        residual = float(np.max(np.abs(grad[free]) / np.maximum(scale[free], 1e-300)))
        if residual < TOLERANCE:
            break
        pi, po = p[ein], p[eout]
        h_ii = d * np.sqrt(po) / (2 * pi**1.5)
        h_oo = d * np.sqrt(pi) / (2 * po**1.5)
        h_io = -d / (2 * np.sqrt(pi * po))
        hess = np.zeros((n, n))
        np.add.at(hess, (ein, ein), h_ii)
        np.add.at(hess, (eout, eout), h_oo)
        np.add.at(hess, (ein, eout), h_io)
        np.add.at(hess, (eout, ein), h_io)
        sub = hess[np.ix_(free, free)]
        diag = np.diag(sub).copy()
        ridge = 1e-12 * (diag.max() if diag.size and diag.max() > 0 else 1.0)
        sub[np.diag_indices_from(sub)] += ridge
        try:
            step = np.linalg.solve(sub, -grad[free])
        except np.linalg.LinAlgError:
            step = -grad[free] / np.maximum(diag, ridge)
        # Keep prices positive: never move a price by more than 90 % of itself.
        shrink = np.max(np.where(step < 0, -step / (0.9 * p[free]), 0.0), initial=0.0)
        t = 1.0 / shrink if shrink > 1 else 1.0
        g0 = _dual(market, edges, p, sell, amount)
        slope = float(grad[free] @ step)
        while t > 1e-12:
            trial = p.copy()
            trial[free] = p[free] + t * step
            if _dual(market, edges, trial, sell, amount) <= g0 + 1e-4 * t * slope + 1e-15 * abs(g0):
                break
            t *= 0.5
        p[free] = p[free] + t * step
        # The sell price must keep at least one edge active.
        if not np.any(market.respond(from_sell, p[sell] / p[market.edge_out[from_sell]])[2]):
            fixed = waterfill(market, from_sell, p[market.edge_out[from_sell]], amount)
            if fixed is None:
                return None
            p[sell] = fixed
    x, y, _ = market.respond(edges, p[ein] / p[eout])
    return Solution(p, edges, x, y, iterations, residual)
