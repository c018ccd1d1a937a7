"""``route()``: the best gas-aware way to sell an exact amount, as integer legs.

Steps: take the pair's amount-independent problem (candidate edges on paths of at most
``max_hops``, start prices, dual indices; built on the pair's first route and kept on the
market, :mod:`keeper.routing.problem`); solve the convex problem (:mod:`keeper.routing.solver`);
with gas, drop pools whose surplus does not pay for their gas and re-solve warm while the net
output improves; turn the flows into integer legs in topological order, each quoted exactly so
that the legs chain without dust (:mod:`keeper.routing.plan`); finally compare with the best
single path of each length and keep the larger net output (output minus gas cost in buy-token
units).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from keeper.routing.exceptions import (
    AmountError,
    NoRouteError,
    QuoteError,
    RoutingError,
    SnapshotError,
)
from keeper.routing.graph import best_paths
from keeper.routing.market import FloatArray, IntArray, Market
from keeper.routing.plan import PlanLeg, base_gas, integer_plan, leg_gas
from keeper.routing.problem import Problem, problem
from keeper.routing.quotes import quote_edge
from keeper.routing.snapshot import Snapshot
from keeper.routing.solver import Solution, solve, solve_dual

MAX_UINT256 = (1 << 256) - 1
BoolArray = npt.NDArray[np.bool_]
_PRUNE_ROUNDS = 6


@dataclass(frozen=True)
class Leg:
    """One swap: ``amount_in`` of ``token_in`` into ``pool`` pays exactly ``amount_out``."""

    pool: str
    kind: str
    fee: int
    token_in: str
    token_out: str
    amount_in: int
    amount_out: int
    ticks_crossed: int
    gas: int


@dataclass(frozen=True)
class Certificate:
    """Dual prices at the optimum (buy-token base units per base unit of each token).

    Every used pool ends at marginal rate ``p_in / p_out``; no unused pool starts above it;
    so every used path trades at the common marginal price ``marginal_price`` = ``p_sell``.
    ``residual`` is the largest relative flow imbalance left by the float solve.
    """

    marginal_price: float
    prices: dict[str, float]
    residual: float
    iterations: int
    pools_dropped_for_gas: int = 0


@dataclass(frozen=True)
class Route:
    sell_token: str
    buy_token: str
    amount_in: int
    amount_out: int
    legs: tuple[Leg, ...]
    gas_estimate: int
    gas_cost: int  # in buy-token base units, at the given gas price
    spot_price: float  # best zero-size rate, buy per sell (after fees)
    certificate: Certificate
    method: str  # "split" or "single-path"
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def net_amount_out(self) -> int:
        return self.amount_out - self.gas_cost

    @property
    def execution_price(self) -> float:
        return self.amount_out / self.amount_in

    @property
    def price_impact(self) -> float:
        """1 - execution price / spot price (fees excluded: both include them)."""
        return 1.0 - self.execution_price / self.spot_price if self.spot_price else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "sell_token": self.sell_token,
            "buy_token": self.buy_token,
            "amount_in": str(self.amount_in),
            "amount_out": str(self.amount_out),
            "net_amount_out": str(self.net_amount_out),
            "gas_estimate": self.gas_estimate,
            "gas_cost": str(self.gas_cost),
            "spot_price": self.spot_price,
            "execution_price": self.execution_price,
            "price_impact": self.price_impact,
            "method": self.method,
            "legs": [
                {
                    "pool": leg.pool,
                    "kind": leg.kind,
                    "fee": leg.fee,
                    "token_in": leg.token_in,
                    "token_out": leg.token_out,
                    "amount_in": str(leg.amount_in),
                    "amount_out": str(leg.amount_out),
                    "ticks_crossed": leg.ticks_crossed,
                    "gas": leg.gas,
                }
                for leg in self.legs
            ],
            "certificate": {
                "marginal_price": self.certificate.marginal_price,
                "prices": self.certificate.prices,
                "residual": self.certificate.residual,
                "iterations": self.certificate.iterations,
                "pools_dropped_for_gas": self.certificate.pools_dropped_for_gas,
            },
        }


def _market(source: Market | Snapshot) -> Market:
    if isinstance(source, Market):
        return source
    if isinstance(source, Snapshot):
        return Market(source)
    raise SnapshotError("snapshot", f"expected a Snapshot or Market, got {type(source).__name__}")


def route(
    source: Market | Snapshot,
    sell_token: str,
    buy_token: str,
    amount_in: int,
    gas_price_wei: int = 0,
    *,
    max_hops: int = 3,
    eth_price: float | None = None,
) -> Route:
    """The best route for selling exactly ``amount_in`` (base units) of ``sell_token``.

    Tokens are addresses or symbols of the snapshot. ``gas_price_wei`` = 0 ignores gas;
    otherwise gas is valued in the buy token through ``eth_price`` (buy-token base units per
    wei) or, by default, the snapshot's WETH mid price.
    """
    market = _market(source)
    snap = market.snapshot
    if not snap.pools:
        raise SnapshotError("pools", "empty: no pool to route through")
    sell = market.token_position(sell_token, "sell")
    buy = market.token_position(buy_token, "buy")
    if sell == buy:
        raise NoRouteError(sell_token, buy_token, "sell and buy are the same token")
    if isinstance(amount_in, bool) or not isinstance(amount_in, int):
        raise AmountError("amount", 0, f"must be an integer, got {type(amount_in).__name__}")
    if amount_in <= 0:
        raise AmountError("amount", amount_in, "must be positive")
    if amount_in > MAX_UINT256:
        raise AmountError("amount", amount_in, "exceeds uint256")
    if gas_price_wei < 0:
        raise AmountError("gas_price", gas_price_wei, "must not be negative")
    if max_hops < 1:
        raise AmountError("max_hops", max_hops, "must be at least 1")
    prob = problem(market, sell, buy, max_hops)
    if prob is None:
        raise NoRouteError(sell_token, buy_token, f"no pools within {max_hops} hops")
    wei_value = _wei_value(market, prob.mids, gas_price_wei, eth_price)
    spot = prob.spot
    # Without gas only the largest output can win; with gas, a shorter path may.
    paths = best_paths(market, prob.layers, float(amount_in), every_length=wei_value > 0)
    candidates: list[Route] = []
    split = _split(market, prob, amount_in, wei_value)
    if split is not None:
        candidates.append(split)
    # A single path's exact output is at most its float output, and its gas at least the base
    # gas of its legs: a path that cannot beat the best candidate so far is not quoted.
    for path, path_out in sorted(paths, key=lambda found: -found[1]):
        gas = float(base_gas(market, path).sum()) * wei_value if wei_value else 0.0
        bound = path_out * (1 + 1e-9) + 2 - gas * 0.999
        if candidates and max(r.net_amount_out for r in candidates) > bound:
            continue
        single = _single_path(market, path, sell, buy, amount_in, wei_value, spot)
        if single is not None:
            candidates.append(single)
    if not candidates:
        raise AmountError("amount", amount_in, "exceeds the liquidity of every route")
    return max(candidates, key=lambda r: (r.net_amount_out, r.method == "split"))


def _wei_value(market: Market, mids: FloatArray, gas_price: int, eth_price: float | None) -> float:
    """Buy-token base units per unit of gas."""
    if gas_price == 0:
        return 0.0
    if eth_price is not None:
        return gas_price * eth_price
    weth = market.snapshot.weth
    if weth is None or weth not in market.token_index or np.isnan(mids[market.token_index[weth]]):
        raise RoutingError(
            "cannot value gas in the buy token: the snapshot has no WETH pool path to it "
            "(set 'weth' in the snapshot or pass eth_price)"
        )
    return gas_price * float(mids[market.token_index[weth]])


def _finish(
    market: Market,
    plan: Sequence[PlanLeg],
    sell: int,
    buy: int,
    amount: int,
    wei_value: float,
    spot: float,
    certificate: Certificate,
    method: str,
) -> Route:
    pools, tokens, ins, outs = market.snapshot.pools, market.tokens, market.ins, market.outs
    legs = []
    for edge, amount_in, q in plan:
        pool = pools[edge // 2]
        legs.append(
            Leg(
                pool=pool.address,
                kind=pool.kind,
                fee=pool.fee,
                token_in=tokens[ins[edge]],
                token_out=tokens[outs[edge]],
                amount_in=amount_in,
                amount_out=q.amount_out,
                ticks_crossed=q.ticks_crossed,
                gas=leg_gas(market, edge, q.ticks_crossed),
            )
        )
    out = sum(leg.amount_out for leg in legs if leg.token_out == tokens[buy])
    gas = sum(leg.gas for leg in legs)
    return Route(
        sell_token=tokens[sell],
        buy_token=tokens[buy],
        amount_in=amount,
        amount_out=out,
        legs=tuple(legs),
        gas_estimate=gas,
        gas_cost=math.ceil(gas * wei_value * (1 - 1e-12)),
        spot_price=spot,
        certificate=certificate,
        method=method,
    )


def _used(market: Market, sol: Solution) -> BoolArray:
    """Edges that carry a real flow (the integer planner ignores float dust)."""
    value = sol.x * sol.prices[market.edge_in[sol.edges]]
    return np.asarray((sol.x >= 1.0) & (value > 1e-9 * value.max(initial=0.0)))


def _net_value(market: Market, sol: Solution, buy: int, wei_value: float) -> float:
    """Float output into the buy token minus the base gas of every used pool."""
    used = _used(market, sol)
    into_buy = market.edge_out[sol.edges] == buy
    gas = float(base_gas(market, sol.edges[used]).sum()) * wei_value
    return float(sol.y[into_buy].sum()) - gas


def _prune_for_gas(
    market: Market,
    sol: Solution,
    tokens: IntArray,
    sell: int,
    buy: int,
    amount: int,
    wei_value: float,
) -> tuple[Solution, int]:
    """Pools whose surplus at the optimum (``p_out y - p_in x``) does not pay for their gas
    leave and the problem is re-solved, warm from the last prices (one or two Newton steps),
    while the net output (float output minus gas) improves. Returns the best solution and the
    number of pools it dropped."""
    best, best_value, best_dropped = sol, _net_value(market, sol, buy, wei_value), 0
    dropped = 0
    for _ in range(_PRUNE_ROUNDS):
        used = _used(market, sol)
        ein, eout = market.edge_in[sol.edges], market.edge_out[sol.edges]
        surplus = sol.prices[eout] * sol.y - sol.prices[ein] * sol.x
        losers = used & (surplus < base_gas(market, sol.edges) * wei_value)
        n_losers = int(losers.sum())
        if not n_losers or n_losers == int(used.sum()):
            break
        dropped += n_losers
        keep = sol.edges[~losers]
        nxt = solve(market, keep, tokens, sell, buy, float(amount), sol.prices, warm=True)
        if nxt is None:
            break
        value = _net_value(market, nxt, buy, wei_value)
        if value <= best_value:
            break
        best, best_value, best_dropped, sol = nxt, value, dropped, nxt
    return best, best_dropped


def _split(market: Market, prob: Problem, amount: int, wei_value: float) -> Route | None:
    sell, buy = prob.sell, prob.buy
    sol = solve_dual(market, prob.dual, prob.curve, prob.start, float(amount))
    if sol is None:
        return None
    dropped = 0
    if wei_value > 0:
        sol, dropped = _prune_for_gas(market, sol, prob.tokens, sell, buy, amount, wei_value)
    try:
        plan = integer_plan(market, sol.edges, sol.x, sol.prices, sell, buy, amount)
    except QuoteError:
        plan = None  # float and integer capacity disagree at a window edge: no split
    if plan is None:
        return None
    prices = {market.tokens[t]: float(sol.prices[t]) for t in prob.tokens.tolist()}
    prices = {t: v for t, v in prices.items() if not math.isnan(v)}
    cert = Certificate(float(sol.prices[sell]), prices, sol.residual, sol.iterations, dropped)
    return _finish(market, plan, sell, buy, amount, wei_value, prob.spot, cert, "split")


def _single_path(
    market: Market,
    path: list[int],
    sell: int,
    buy: int,
    amount: int,
    wei_value: float,
    spot: float,
) -> Route | None:
    plan: list[PlanLeg] = []
    carried = amount
    try:
        for edge in path:
            q = quote_edge(market, edge, carried)
            plan.append((edge, carried, q))
            carried = q.amount_out
            if carried <= 0:
                return None
    except RoutingError:
        return None
    amounts = np.array([a for _, a, _ in plan], dtype=np.float64)
    _, rates = market.trade(np.asarray(path), amounts)
    prices = {market.tokens[buy]: 1.0}
    price = 1.0
    for edge, rate in zip(path[::-1], rates.tolist()[::-1], strict=True):
        price *= rate
        prices[market.tokens[market.edge_in[edge]]] = price
    cert = Certificate(price, prices, 0.0, 0)
    return _finish(market, plan, sell, buy, amount, wei_value, spot, cert, "single-path")
