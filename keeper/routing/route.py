"""``route()``: the best gas-aware way to sell an exact amount, as integer legs.

Steps: pick the edges on paths of at most ``max_hops``; solve the convex problem
(:mod:`keeper.routing.solver`); turn the flows into integer legs in topological order, each
quoted exactly so that the legs chain without dust; drop pools whose surplus does not pay
for their gas and re-solve; finally compare with the best single path and keep the larger
net output (output minus gas cost in buy-token units).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from keeper.routing.constants import GAS_V2_LEG, GAS_V3_LEG, GAS_V3_TICK
from keeper.routing.exceptions import (
    AmountError,
    CapacityError,
    NoRouteError,
    QuoteError,
    RoutingError,
    SnapshotError,
)
from keeper.routing.graph import best_path, candidate_edges, mid_prices, spot_rate
from keeper.routing.market import FloatArray, IntArray, Market
from keeper.routing.quotes import quote_edge
from keeper.routing.snapshot import Snapshot, V2Pool
from keeper.routing.solver import Solution, solve

MAX_UINT256 = (1 << 256) - 1
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
    sell = market.token_index[snap.token(sell_token, "sell").address]
    buy = market.token_index[snap.token(buy_token, "buy").address]
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
    edges, tokens = candidate_edges(market, sell, buy, max_hops)
    if edges.size == 0:
        raise NoRouteError(sell_token, buy_token, f"no pools within {max_hops} hops")
    mids = mid_prices(market, buy)
    wei_value = _wei_value(market, mids, gas_price_wei, eth_price)
    start = np.where(np.isnan(mids), 1.0, mids)
    spot = spot_rate(market, edges, sell, buy, max_hops)
    candidates: list[Route] = []
    split = _split(market, edges, tokens, sell, buy, amount_in, start, wei_value, spot)
    if split is not None:
        candidates.append(split)
    single = _single_path(market, edges, sell, buy, amount_in, max_hops, wei_value, spot)
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


def _leg_gas(market: Market, edge: int, ticks: int) -> int:
    pool = market.snapshot.pools[edge // 2]
    return GAS_V2_LEG if isinstance(pool, V2Pool) else GAS_V3_LEG + GAS_V3_TICK * ticks


def _legs(market: Market, plan: Sequence[tuple[int, int]]) -> tuple[Leg, ...]:
    legs = []
    for edge, amount in plan:
        q = quote_edge(market, edge, amount)
        pool = market.snapshot.pools[edge // 2]
        legs.append(
            Leg(
                pool=pool.address,
                kind=pool.kind,
                fee=pool.fee,
                token_in=market.tokens[market.edge_in[edge]],
                token_out=market.tokens[market.edge_out[edge]],
                amount_in=amount,
                amount_out=q.amount_out,
                ticks_crossed=q.ticks_crossed,
                gas=_leg_gas(market, edge, q.ticks_crossed),
            )
        )
    return tuple(legs)


def _integer_plan(
    market: Market, sol: Solution, sell: int, buy: int, amount: int
) -> list[tuple[int, int]] | None:
    """Integer inputs per edge in execution order, conserving every token exactly.

    Each token's available amount (the sell amount, or the exact outputs of the legs into it)
    is split over its outgoing legs in proportion to the float flows, rounding down, the
    remainder going to the largest leg. Quotes are exact, so the legs chain without dust.
    """
    p = sol.prices
    value = sol.x * np.nan_to_num(p[market.edge_in[sol.edges]])
    used = (sol.x >= 1.0) & (value > 1e-9 * value.max(initial=0.0))
    edges, flows = sol.edges[used], sol.x[used]
    ein, eout = market.edge_in[edges], market.edge_out[edges]
    # Drop legs into dead ends (float dust) until every intermediate token has an outlet.
    while True:
        has_out = np.isin(eout, ein) | (eout == buy)
        has_in = np.isin(ein, eout) | (ein == sell)
        ok = has_out & has_in
        if ok.all():
            break
        edges, flows, ein, eout = edges[ok], flows[ok], ein[ok], eout[ok]
    if edges.size == 0:
        return None
    available = {sell: amount}
    plan: list[tuple[int, int]] = []
    pending = set(range(len(edges)))
    while pending:
        ready = [
            t for t in {int(ein[i]) for i in pending} if not any(int(eout[j]) == t for j in pending)
        ]
        if not ready:
            return None  # a cycle: the snapshot holds an arbitrage; the single path stands
        for token in ready:
            outgoing = [i for i in pending if int(ein[i]) == token]
            total = available.pop(token, 0)
            weights = flows[outgoing] / flows[outgoing].sum()
            shares = [int(total * w) for w in weights]
            shares[int(np.argmax(weights))] += total - sum(shares)
            _respect_capacity(market, edges[outgoing], shares)
            quotes = _fit_capacity(market, edges[outgoing], shares)
            if quotes is None:
                return None
            for i, share, out in zip(outgoing, shares, quotes, strict=True):
                pending.discard(i)
                if share <= 0:
                    continue
                plan.append((int(edges[i]), share))
                available[int(eout[i])] = available.get(int(eout[i]), 0) + out
    return plan


def _respect_capacity(market: Market, edges: IntArray, shares: list[int]) -> None:
    """Keep legs that exhaust a V3 pool's known liquidity just inside it (float rounding would
    otherwise ask for more than the scanned tick window holds); the excess goes to the
    largest unconstrained leg."""
    capacity = market.ain[edges, -1]
    limit = np.floor(capacity * (1 - 1e-6))
    over = [i for i, share in enumerate(shares) if np.isfinite(capacity[i]) and share > limit[i]]
    if not over or len(over) == len(shares):
        return
    excess = 0
    for i in over:
        excess += shares[i] - int(limit[i])
        shares[i] = int(limit[i])
    free = [i for i in range(len(shares)) if i not in over]
    shares[max(free, key=lambda i: shares[i])] += excess


def _fit_capacity(market: Market, edges: IntArray, shares: list[int]) -> list[int] | None:
    """Exact outputs of the legs; a leg that exceeds its pool's known liquidity is cut to what
    it can take and the rest moves to the largest leg with room (None if none has)."""
    outs = [0] * len(shares)
    full: set[int] = set()
    for _ in range(len(shares) + 1):
        excess = 0
        for i, share in enumerate(shares):
            if share <= 0 or (outs[i] and i not in full):
                continue
            try:
                outs[i] = quote_edge(market, int(edges[i]), share).amount_out
            except CapacityError as err:
                excess += share - err.consumable
                shares[i] = err.consumable
                full.add(i)
                outs[i] = (
                    quote_edge(market, int(edges[i]), shares[i]).amount_out if shares[i] else 0
                )
        if not excess:
            return outs
        room = [i for i in range(len(shares)) if i not in full]
        if not room:
            return None
        target = max(room, key=lambda i: shares[i])
        shares[target] += excess
        outs[target] = 0
    return None


def _finish(
    market: Market,
    plan: Sequence[tuple[int, int]],
    sell: int,
    buy: int,
    amount: int,
    wei_value: float,
    spot: float,
    certificate: Certificate,
    method: str,
) -> Route:
    legs = _legs(market, plan)
    out = sum(leg.amount_out for leg in legs if leg.token_out == market.tokens[buy])
    gas = sum(leg.gas for leg in legs)
    return Route(
        sell_token=market.tokens[sell],
        buy_token=market.tokens[buy],
        amount_in=amount,
        amount_out=out,
        legs=legs,
        gas_estimate=gas,
        gas_cost=math.ceil(gas * wei_value * (1 - 1e-12)),
        spot_price=spot,
        certificate=certificate,
        method=method,
    )


def _split(
    market: Market,
    edges: IntArray,
    tokens: IntArray,
    sell: int,
    buy: int,
    amount: int,
    start: FloatArray,
    wei_value: float,
    spot: float,
) -> Route | None:
    best: Route | None = None
    active = edges
    dropped = 0
    for _ in range(_PRUNE_ROUNDS):
        sol = solve(market, active, tokens, sell, buy, float(amount), start)
        if sol is None:
            break
        try:
            plan = _integer_plan(market, sol, sell, buy, amount)
        except QuoteError:
            plan = None  # float and integer capacity disagree at a window edge: no split
        if plan is None:
            break
        prices = {
            market.tokens[t]: float(sol.prices[t]) for t in tokens if not np.isnan(sol.prices[t])
        }
        cert = Certificate(float(sol.prices[sell]), prices, sol.residual, sol.iterations, dropped)
        candidate = _finish(market, plan, sell, buy, amount, wei_value, spot, cert, "split")
        if best is not None and candidate.net_amount_out <= best.net_amount_out:
            break
        best = candidate
        if wei_value == 0:
            break
        # Pools whose surplus at the optimum does not pay for their gas leave, then re-solve.
        ein, eout = market.edge_in[sol.edges], market.edge_out[sol.edges]
        surplus = sol.prices[eout] * sol.y - sol.prices[ein] * sol.x
        gas_value = np.array(
            [
                wei_value
                * (GAS_V2_LEG if market.snapshot.pools[e // 2].kind == "v2" else GAS_V3_LEG)
                for e in sol.edges
            ]
        )
        losers = (sol.x > 0) & (surplus < gas_value)
        if not losers.any() or losers.sum() == (sol.x > 0).sum():
            break
        active = sol.edges[~losers]
        dropped += int(losers.sum())
    return best


def _single_path(
    market: Market,
    edges: IntArray,
    sell: int,
    buy: int,
    amount: int,
    max_hops: int,
    wei_value: float,
    spot: float,
) -> Route | None:
    path = best_path(market, edges, sell, buy, float(amount), max_hops)
    if not path:
        return None
    plan = []
    carried = amount
    try:
        for edge in path:
            plan.append((edge, carried))
            carried = quote_edge(market, edge, carried).amount_out
            if carried <= 0:
                return None
    except RoutingError:
        return None
    path_arr = np.asarray(path)
    amounts = np.array([a for _, a in plan], dtype=np.float64)
    _, rates = market.trade(path_arr, amounts)
    prices = {market.tokens[buy]: 1.0}
    price = 1.0
    for edge, rate in zip(path[::-1], rates[::-1], strict=True):
        price *= float(rate)
        prices[market.tokens[market.edge_in[edge]]] = price
    cert = Certificate(price, prices, 0.0, 0)
    return _finish(market, plan, sell, buy, amount, wei_value, spot, cert, "single-path")
