"""The convex routing problem and its dual, solved in numpy.

Maximise the output of the buy token for an exact input ``X`` of the sell token over a set of
edges (directed pools). The Lagrange dual assigns a price ``p_t`` to every token (the buy token
is the numeraire, ``p = 1``); at given prices each edge trades until its marginal rate equals
``p_in / p_out`` (:mod:`keeper.routing.dual`), and the dual function
``G(p) = X p_sell + sum_e (p_out y_e - p_in x_e)`` is convex with gradient ``X e_sell + net(p)``.
At its minimum the flows conserve every intermediate token and use exactly ``X``: that price
vector is the optimality certificate (every used edge ends at marginal rate ``p_in/p_out``,
no unused edge starts above it).

* One free price (only sell->buy pools): closed form. With ``u = p^-1/2`` every segment takes
  ``D u - C`` while active and a constant once used up, so between consecutive breakpoints
  (a segment starting or ending) the total input is linear in ``u``: sort the breakpoints,
  accumulate slopes and intercepts, pick the interval that holds ``X`` and solve.
* Several free prices (multi-hop): damped Newton on ``G`` over the flattened segments of
  :class:`keeper.routing.dual.Dual` (one evaluation = a fixed handful of numpy calls over every
  segment; exact Hessian, a rank-one 2x2 block per edge, solved by Cholesky), started from mid
  prices moved by the sell token's closed-form clearing price (:data:`START_SELL_MOVE`), or warm
  from a previous solution. The full step is nearly always taken (one evaluation per
  iteration); an exact line search runs only when it overshoots past an edge's (de)activation.
  Typically 4-6 iterations.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from keeper.routing.bracket import IllinoisBracket
from keeper.routing.dual import Dual, Segments, balance_token
from keeper.routing.market import FloatArray, IntArray, Market

MAX_NEWTON_STEPS = 60
#: Converged: the largest flow imbalance, valued at the prices, relative to the value sold.
TOLERANCE = 1e-11
#: Below this imbalance, progress that stalls is float round-off, not a hard problem.
STALL_FLOOR = 1e-7
#: A step is accepted when the directional derivative has shrunk to this fraction of its
#: start (0.5: the dual still decreases for a near-linear derivative).
ACCEPT = 0.5
#: Trust region: the largest relative price move of the first step (grows x4 per clean step).
START_RADIUS, MIN_RADIUS = 0.1, 1e-6
#: Cold start. The sell token's clearing price holds every other token at its mid price, but
#: at the optimum the intermediate tokens fall too, and the sell price further: it starts
#: ``START_SELL_MOVE`` times the clearing move away from its mid price (in log), and the
#: intermediate prices move ``START_SHIFT`` of the sell price's move. (Over random V2 and V3
#: networks of 4-6 tokens, 2 and 0.5 take 6.3 dual evaluations on average where 1 and 0.5
#: took 9.0, and the worst V2 case 16 instead of 89.)
START_SELL_MOVE, START_SHIFT = 2.0, 0.5


@dataclass(frozen=True)
class Solution:
    prices: FloatArray  # per token of the market (NaN = not in the problem)
    edges: IntArray
    x: FloatArray  # gross input per edge
    y: FloatArray  # output per edge
    iterations: int
    residual: float  # max relative flow imbalance


#: A sell token's supply curve at fixed output prices, as breakpoints in ``u = p_sell^-1/2``
#: with the slope and intercept of the total input after each (see :func:`supply_curve`).
SupplyCurve = tuple[FloatArray, FloatArray, tuple[FloatArray, FloatArray]]


def supply_curve(market: Market, edges: IntArray, p_out: FloatArray) -> SupplyCurve | None:
    """How much the edges (all selling the same token) take as its price falls, ``p_out``
    (each edge's output price) fixed: every segment takes ``D u - C`` while active and a
    constant once used up, so the total is piecewise linear in ``u`` between breakpoints
    (a segment starting or ending). None without edges."""
    if not len(edges):
        return None
    seg = Segments(market, edges)
    k = seg.spread(np.sqrt(market.g[edges] * p_out))  # t = 1 / (u k)
    slope = seg.L_g_hi * seg.hi * k  # D: input per unit of u while active
    u_on = seg.inv_hi / k
    ends = None
    if seg.bounded:  # V3 ranges: segments end where used up (V2 pairs never do)
        u_off = seg.inv_lo / k
        ends = np.isfinite(u_off).nonzero()[0]
    if ends is not None and ends.size:
        u = np.concatenate([u_on, u_off[ends]])
        d_slope = np.concatenate([slope, -slope[ends]])
        d_base = np.concatenate([-seg.L_g_hi, slope[ends] * u_off[ends]])
    else:  # every segment starts, none ends
        u, d_slope, d_base = u_on, slope, -seg.L_g_hi
    order = u.argsort(kind="stable")
    u = u[order]
    cum_slope, cum_base = np.add.accumulate(d_slope[order]), np.add.accumulate(d_base[order])
    # Input with the segments active after breakpoint i, at the next breakpoint (or u -> inf).
    reach = cum_base.copy()
    reach[:-1] += cum_slope[:-1] * u[1:]
    if cum_slope[-1] > 0:
        reach[-1] = np.inf
    return reach, u, (cum_slope, cum_base)


def clearing_price(curve: SupplyCurve | None, amount: float) -> float | None:
    """The sell price at which the supply curve takes exactly ``amount`` (None: it cannot)."""
    if curve is None:
        return None
    reach, u, (cum_slope, cum_base) = curve
    i = int(reach.searchsorted(amount))  # reach is non-decreasing
    if i == len(reach):
        return None
    root = (amount - cum_base[i]) / cum_slope[i] if cum_slope[i] > 0 else u[i]
    return float(1.0 / max(root, u[i]) ** 2)


def waterfill(market: Market, edges: IntArray, p_out: FloatArray, amount: float) -> float | None:
    """The sell price at which the edges (all selling the same token) take exactly ``amount``.

    ``p_out`` is the (fixed) price of each edge's output token. Closed form; ``None`` when even
    exhausting every edge cannot absorb ``amount``.
    """
    return clearing_price(supply_curve(market, edges, p_out), amount)


@functools.cache
def _posv() -> Any:
    from scipy.linalg.lapack import dposv  # lazy: scipy.linalg is a heavy import

    return dposv


def _newton_step(dual: Dual, hess: FloatArray, grad: FloatArray, p: FloatArray) -> FloatArray:
    """Newton direction on the free prices (Cholesky, LAPACK ``posv``).

    A tiny relative ridge keeps the system positive definite. A token without curvature (no
    edge at a price inside a segment: all idle or used up) gets the diagonal ``|g_t| / p_t``,
    so it moves by its own price (doubles or halves) instead of an arbitrary amount.
    ``numpy.linalg.solve`` is avoided on purpose: OpenBLAS threads its LU even for 9x9
    systems, which costs ~0.6 ms per call on a loaded machine instead of ~2 us."""
    k = dual.m - 1
    diag = hess[dual.diagonal]
    hess[dual.diagonal] = diag * dual.ridge
    _, step, info = _posv()(hess[:-1].reshape(k, k), -grad, 1)  # lower triangle
    if info == 0:
        return step
    # Few tokens: plain Python is cheaper than numpy here.
    fixed = [
        d if d > 0 else abs(g) / q if g else 1.0
        for d, g, q in zip(diag.tolist(), grad.tolist(), p.tolist(), strict=True)
    ]
    diag = np.array(fixed)
    hess[dual.diagonal] = diag * dual.ridge
    _, step, info = _posv()(hess[:-1].reshape(k, k), -grad, 1)
    if info != 0:  # not positive definite (round-off): scaled steepest descent
        return np.asarray(-grad / diag)
    return step


def _line_search(
    dual: Dual, p: FloatArray, step: FloatArray, slopes: tuple[float, float], high: float
) -> tuple[float, FloatArray]:
    """Root of the (increasing) directional derivative of the dual along ``step`` in
    ``(0, high)``, given its values at both ends, by Illinois regula falsi with geometric
    bisection; returns it with the gradient there (the dual's last evaluation). Called only
    when the full Newton step overshoots (an edge (de)activates on the way)."""
    slope0, f_high = slopes
    trial = p.copy()
    base = p[:-1]
    grad = p

    def slope(t: float) -> float:
        nonlocal grad
        trial[:-1] = base + t * step
        grad = dual.gradient(trial)
        return float(grad[:-1].dot(step))

    ends = IllinoisBracket(0.0, slope0, high, f_high)
    for i in range(40):
        low, high = ends.low, ends.high
        if i % 3 == 2:  # guard against slow one-sided convergence
            mid = np.sqrt(low * high) if low > 0 else high * 1e-3
        else:
            mid = low + ends.fraction() * (high - low)
        f_mid = slope(mid)
        if abs(f_mid) <= ACCEPT * abs(slope0) or high - low <= 1e-12 * high:
            return float(mid), grad
        ends.move(mid, f_mid, low=f_mid < 0)
    slope(ends.low)
    return float(ends.low), grad


def _sweep(dual: Dual, p: FloatArray, grad: FloatArray) -> FloatArray:
    """Balance each free token exactly in turn (largest imbalance first): slow but sure where
    Newton stalls (tokens whose pools are all idle or used up have no curvature)."""
    p = p.copy()
    for t in np.argsort(-np.abs(grad[:-1] * p[:-1])).tolist():
        root = balance_token(dual, p, t)
        if root is not None:
            p[t] = root
    return p


def newton(dual: Dual, p: FloatArray) -> tuple[FloatArray, int, float]:
    """Minimise the dual from ``p`` (local order, buy last = 1): damped Newton, exact Hessian.

    Each iteration costs one evaluation when the full step is accepted (the usual case); the
    line search runs only when the step overshoots; a coordinate sweep only when Newton
    stalls. Stops at a relative imbalance below ``TOLERANCE`` or when round-off stalls
    progress. Returns prices, iterations, residual."""
    scale = 1.0 / dual.amount
    grad = dual.gradient(p)
    best = residual = np.inf
    stalled = iterations = 0
    radius = START_RADIUS
    for iterations in range(1, MAX_NEWTON_STEPS + 1):  # noqa: B007 (returned)
        free_p, free_g = p[:-1], grad[:-1]
        # Imbalance valued at the current prices, relative to the value sold. (Python lists:
        # for a handful of tokens, cheaper than numpy reductions.)
        residual = max(map(abs, (free_g * free_p).tolist())) * scale / float(p[dual.sell])
        if residual < TOLERANCE:
            break
        stalled = stalled + 1 if residual > 0.5 * best else 0
        best = min(best, residual)
        if stalled >= 3 and residual < STALL_FLOOR:
            break  # float round-off floor: the integer plan conserves exactly anyway
        step = _newton_step(dual, dual.hessian(), free_g, free_p)  # at the last evaluation
        slope0 = float(free_g.dot(step))
        if slope0 >= 0 or stalled >= 3:  # Newton is stuck: balance tokens one by one
            p = _sweep(dual, p, grad)
            grad = dual.gradient(p)
            stalled, best = 0, np.inf
            continue
        # Trust region on relative price moves: mid prices start inside every pool's fee band,
        # where Newton's model ignores the edges about to activate and proposes wild steps.
        # It grows fourfold after every step that needs no line search. Prices stay positive.
        ratio = (step / free_p).tolist()
        shrink, grow = -min(ratio), max(ratio)
        t_max = min(1.0, radius / max(shrink, grow), 0.9 / shrink if shrink > 0 else 1.0)
        trial = p.copy()
        trial[:-1] = free_p + t_max * step if t_max < 1.0 else free_p + step
        grad_t = dual.gradient(trial)
        slope_t = float(grad_t[:-1].dot(step))
        if slope_t > ACCEPT * -slope0:  # overshoot: an edge (de)activated on the way
            t, grad_t = _line_search(dual, p, step, (slope0, slope_t), t_max)
            trial[:-1] = free_p + t * step
            radius = max(2 * t * max(shrink, grow), MIN_RADIUS)
        else:
            radius *= 4
        p, grad = trial, grad_t
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
    solution's prices, e.g. before pools were dropped for gas), the sell price is first set by
    :func:`waterfill`, which is also the whole solve for a single pair."""
    curve = None
    if not warm or len(tokens) == 2 or not np.isfinite(start[sell]):
        from_sell = edges[market.edge_in[edges] == sell]
        p_out = start[market.edge_out[from_sell]]
        curve = supply_curve(
            market, from_sell, np.where(market.edge_out[from_sell] == buy, 1.0, p_out)
        )
    dual = Dual(market, edges, tokens, sell, buy, amount)
    return solve_dual(market, dual, curve, start, amount)


def solve_dual(
    market: Market,
    dual: Dual,
    curve: SupplyCurve | None,
    start: FloatArray,
    amount: float,
) -> Solution | None:
    """:func:`solve` on a prepared dual (its amount and evaluation state are reset here: a
    dual serves one solve at a time) and the sell token's supply curve at the start prices
    (None: a warm start, the sell price is ``start``'s)."""
    local = start[dual.order]  # local order: the buy token (price 1) last
    local[-1] = 1.0
    if curve is not None:
        p_sell = clearing_price(curve, amount)
        if p_sell is None:
            return None
        if dual.m > 2:  # see START_SELL_MOVE
            move = p_sell / local[dual.sell]
            local[:-1] *= move ** (START_SELL_MOVE * START_SHIFT)
            p_sell *= float(move ** (START_SELL_MOVE - 1))
        local[dual.sell] = p_sell
    dual.amount, dual.evaluations = amount, 0
    if dual.m == 2:  # every edge sells the sell token for the buy token (price 1)
        x, y = dual.edge_flows(local)
        iterations, residual = 0, 0.0
    else:
        local, iterations, residual = newton(dual, local)
        x, y = dual.edge_flows()  # newton's last evaluation is at its result
    p = np.empty(market.n_tokens)
    p.fill(np.nan)
    p[dual.order] = local
    return Solution(p, dual.edges, x, y, iterations, residual)
