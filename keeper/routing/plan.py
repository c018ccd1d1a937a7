"""Float flows -> integer legs that chain exactly: what the executor runs.

Each token's available amount (the sell amount, or the exact outputs of the legs into it) is
split over its outgoing legs in proportion to the float flows, rounding down, the remainder
going to the largest leg. Quotes are exact, so the legs chain without dust. Python loops here
run over the legs of one route (integer arithmetic cannot be vectorised), never over the
candidate pools.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from keeper.routing.constants import GAS_V2_LEG, GAS_V3_LEG, GAS_V3_TICK
from keeper.routing.exceptions import CapacityError
from keeper.routing.market import FloatArray, IntArray, Market
from keeper.routing.quotes import Quote, quote_edge

#: One leg of a plan: (edge, exact input, its exact quote).
PlanLeg = tuple[int, int, Quote]


def integer_plan(
    market: Market,
    edges: IntArray,
    x: FloatArray,
    prices: FloatArray,
    sell: int,
    buy: int,
    amount: int,
) -> list[PlanLeg] | None:
    """Integer inputs per edge in execution order, conserving every token exactly.

    ``x`` is the float gross input of each edge, ``prices`` the dual prices (to ignore flows
    worth nothing). None when the flows hold a cycle (the snapshot has an arbitrage)."""
    value = x * prices[market.edge_in[edges]]  # every problem token has a price
    used = ((x >= 1.0) & (value > 1e-9 * value.max(initial=0.0))).nonzero()[0]
    edge_list, flow_list = edges[used].tolist(), x[used].tolist()
    ins = [market.ins[e] for e in edge_list]
    outs = [market.outs[e] for e in edge_list]
    # Drop legs into dead ends (float dust) until every intermediate token has an outlet.
    while edge_list:
        with_outlet, with_inlet = {*ins, buy}, {*outs, sell}
        keep = [i for i in range(len(ins)) if outs[i] in with_outlet and ins[i] in with_inlet]
        if len(keep) == len(ins):
            break
        edge_list, flow_list = [edge_list[i] for i in keep], [flow_list[i] for i in keep]
        ins, outs = [ins[i] for i in keep], [outs[i] for i in keep]
    if not edge_list:
        return None
    outgoing: dict[int, list[int]] = {}
    waiting: dict[int, int] = {}  # legs not yet planned into each token
    for i, (t_in, t_out) in enumerate(zip(ins, outs, strict=True)):
        outgoing.setdefault(t_in, []).append(i)
        waiting[t_out] = waiting.get(t_out, 0) + 1
    available = {sell: amount}
    ready = [t for t in outgoing if not waiting.get(t)]
    plan: list[PlanLeg] = []
    planned = 0
    while ready:
        token = ready.pop()
        legs = outgoing[token]
        total = available.pop(token, 0)
        shares = _shares(total, [flow_list[i] for i in legs])
        leg_edges = [edge_list[i] for i in legs]
        if market.books:  # V2 pairs have no capacity
            _respect_capacity(market, leg_edges, shares)
        quotes = _fit_capacity(market, leg_edges, shares)
        if quotes is None:
            return None
        for i, edge, share, q in zip(legs, leg_edges, shares, quotes, strict=True):
            planned += 1
            target = outs[i]
            waiting[target] -= 1
            if not waiting[target] and target in outgoing:
                ready.append(target)
            if share <= 0 or q is None:
                continue
            plan.append((edge, share, q))
            available[target] = available.get(target, 0) + q.amount_out
    if planned < len(edge_list):
        return None  # a cycle: the snapshot holds an arbitrage; the single path stands
    return plan


def _shares(total: int, flows: list[float]) -> list[int]:
    """``total`` split in proportion to ``flows``, rounding down, remainder to the largest."""
    if len(flows) == 1:
        return [total]
    whole = sum(flows)
    shares = [int(total * (f / whole)) for f in flows]
    largest = max(range(len(flows)), key=flows.__getitem__)
    shares[largest] += total - sum(shares)
    return shares


def _respect_capacity(market: Market, edges: list[int], shares: list[int]) -> None:
    """Keep legs that exhaust a V3 pool's known liquidity just inside it (float rounding would
    otherwise ask for more than the scanned tick window holds); the excess goes to the
    largest unconstrained leg."""
    if len(shares) < 2:
        return
    capacity = market.capacity
    limits = [capacity[e] * (1 - 1e-6) for e in edges]
    over = [i for i, share in enumerate(shares) if share > limits[i]]
    if not over or len(over) == len(shares):
        return
    excess = 0
    for i in over:
        limit = int(limits[i])
        excess += shares[i] - limit
        shares[i] = limit
    free = [i for i in range(len(shares)) if i not in over]
    shares[max(free, key=shares.__getitem__)] += excess


def _fit_capacity(market: Market, edges: list[int], shares: list[int]) -> list[Quote | None] | None:
    """Exact quotes of the legs. A leg beyond its V3 pool's known liquidity (the float curve
    and the integer one disagree at the tick window's edge) is cut to what the pool can take,
    the rest moving to the largest leg with room (None if none has)."""
    quotes: list[Quote | None] = [None] * len(shares)
    full: set[int] = set()
    for _ in range(len(shares) + 1):
        excess = 0
        for i, share in enumerate(shares):
            if share <= 0 or quotes[i] is not None:
                continue
            try:
                quotes[i] = quote_edge(market, edges[i], share)
            except CapacityError as err:
                excess += share - err.consumable
                shares[i] = err.consumable
                full.add(i)
                quotes[i] = quote_edge(market, edges[i], shares[i]) if shares[i] else None
        if not excess:
            return quotes
        room = [i for i in range(len(shares)) if i not in full]
        if not room:
            return None
        target = max(room, key=shares.__getitem__)
        shares[target] += excess
        quotes[target] = None
    return None


def leg_gas(market: Market, edge: int, ticks: int) -> int:
    """Gas estimate of one leg (see :mod:`keeper.routing.constants`)."""
    return GAS_V3_LEG + GAS_V3_TICK * ticks if edge // 2 in market.books else GAS_V2_LEG


def base_gas(market: Market, edges: Sequence[int] | IntArray) -> FloatArray:
    """Gas of each edge's leg before tick crossings, as an array."""
    return np.where(market.is_v3[np.asarray(edges) // 2], GAS_V3_LEG, GAS_V2_LEG).astype(float)
