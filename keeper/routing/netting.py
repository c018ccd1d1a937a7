"""Batch netting: match opposite flows internally at one uniform price per token pair.

Fairness rule (see docs/ROUTING.md): within a pair {A, B} every order gets the same price.

* If the volume ratio ``P0 = sum(B sold) / sum(A sold)`` lies inside the AMM band — at least
  the A->B spot rate and at most the inverse of the B->A spot rate (both after fees) — the
  pair clears entirely internally at ``P0``: nothing touches a pool and both sides do at
  least as well as the AMM's best marginal price.
* Otherwise one side is in excess. Its net amount ``R`` is routed through the pools
  (:func:`keeper.routing.route.route`, gas-aware, split and multi-hop) and everyone clears at
  the residual's average AMM price ``P = out(R) / R``, found as the fixed point of
  ``R(P) = sum(excess sold) - sum(other sold) / P``. The excess side thus pays exactly what the
  AMM charges for the net flow; the other side gets the same price without touching a pool.
* Each side's proceeds are shared pro rata to the amounts sold, in whole base units that add up
  to exactly the side's proceeds (rounded down, the leftover wei to the largest remainders):
  nothing stays with the executor. An order whose share is below its signed minimum is
  dropped with a reason and the pair is cleared again without it, until every remaining order
  meets its limit — netting never leaves a user below the limit they signed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from keeper.routing.bracket import IllinoisBracket
from keeper.routing.exceptions import NettingError, RoutingError
from keeper.routing.market import Market
from keeper.routing.problem import problem
from keeper.routing.route import Route, route

_ROOT_STEPS = 60  # a safety cap: the root is found in 3-6 routes
_PRICE_TOLERANCE = 1e-10  # relative, between the two sides' prices of a pair


@dataclass(frozen=True)
class Order:
    """One user's pairwise trade: sell exactly ``sell_amount``, receive >= ``min_buy_amount``."""

    id: str
    sell_token: str
    buy_token: str
    sell_amount: int
    min_buy_amount: int = 0


@dataclass(frozen=True)
class Fill:
    order_id: str
    sell_token: str
    buy_token: str
    sell_amount: int
    buy_amount: int


@dataclass(frozen=True)
class PairClearing:
    """How one pair cleared: ``price`` = B per A (base units), and the routed residual."""

    token_a: str
    token_b: str
    price: float
    sold_a: int
    sold_b: int
    residual: Route | None


@dataclass(frozen=True)
class NettingResult:
    fills: tuple[Fill, ...]
    excluded: dict[str, str]  # order id -> reason
    clearings: tuple[PairClearing, ...]

    @property
    def residual_routes(self) -> tuple[Route, ...]:
        return tuple(c.residual for c in self.clearings if c.residual is not None)


@dataclass(frozen=True)
class NettedFlow:
    """How much of the users' sell flow a netting settled between users.

    ``total_usd``: everything users sold, over all pairs; ``routed_usd``: of it, the residuals
    sent through the pools. The rest was delivered to users selling the opposite way.
    """

    total_usd: float
    routed_usd: float

    @property
    def netted_usd(self) -> float:
        return self.total_usd - self.routed_usd

    @property
    def share(self) -> float:
        """``netted_usd / total_usd`` (0 when nothing was sold)."""
        return self.netted_usd / self.total_usd if self.total_usd > 0 else 0.0


def netted_flow(
    clearings: Iterable[PairClearing], value_usd: Callable[[str, int], float]
) -> NettedFlow:
    """The netted share of a netting result's flow, valued by ``value_usd(token, amount)``.

    Per pair ``{A, B}`` users sold ``sold_a`` of A and ``sold_b`` of B; only the excess side's
    residual (``residual.amount_in`` of ``residual.sell_token``) crossed a pool, so::

        total  = value(A, sold_a) + value(B, sold_b)
        routed = value(residual.sell_token, residual.amount_in)     (0 for an internal cross)
    """
    total = routed = 0.0
    for clearing in clearings:
        total += value_usd(clearing.token_a, clearing.sold_a)
        total += value_usd(clearing.token_b, clearing.sold_b)
        if clearing.residual is not None:
            routed += value_usd(clearing.residual.sell_token, clearing.residual.amount_in)
    return NettedFlow(total, routed)


def net(
    market: Market,
    orders: Sequence[Order],
    gas_price_wei: int = 0,
    *,
    max_hops: int = 3,
    eth_price: float | None = None,
) -> NettingResult:
    """Net ``orders`` pair by pair; route each pair's residual; fill every order fairly."""
    resolved = _validate(market, orders)
    by_pair: dict[tuple[str, str], list[Order]] = defaultdict(list)
    for order in resolved:
        a, b = sorted((order.sell_token, order.buy_token), key=lambda t: int(t, 16))
        by_pair[(a, b)].append(order)
    fills: list[Fill] = []
    excluded: dict[str, str] = {}
    clearings: list[PairClearing] = []
    for (a, b), pair_orders in by_pair.items():
        live = list(pair_orders)
        while True:
            try:
                clearing, pair_fills = _clear_pair(
                    market, a, b, live, gas_price_wei, max_hops, eth_price
                )
            except RoutingError as err:
                for order in live:
                    excluded[order.id] = f"residual cannot be routed: {err}"
                clearing, pair_fills, live = None, [], []
                break
            short = [
                f for f, o in zip(pair_fills, live, strict=True) if f.buy_amount < o.min_buy_amount
            ]
            if not short:
                break
            worst = {f.order_id for f in short}
            for order in live:
                if order.id in worst:
                    excluded[order.id] = (
                        f"limit not met: would receive {_fill_of(pair_fills, order.id)} "
                        f"< minimum {order.min_buy_amount} at the pair's clearing price"
                    )
            live = [o for o in live if o.id not in worst]
            if not live:
                clearing, pair_fills = None, []
                break
        if clearing is not None:
            clearings.append(clearing)
            fills.extend(pair_fills)
    return NettingResult(tuple(fills), excluded, tuple(clearings))


def _fill_of(fills: Sequence[Fill], order_id: str) -> int:
    return next(f.buy_amount for f in fills if f.order_id == order_id)


def _validate(market: Market, orders: Sequence[Order]) -> list[Order]:
    seen: set[str] = set()
    out = []
    for i, order in enumerate(orders):
        if order.id in seen:
            raise NettingError(f"orders[{i}].id", f"duplicate id '{order.id}'")
        seen.add(order.id)
        sell = market.snapshot.token(order.sell_token, f"orders[{i}].sell_token").address
        buy = market.snapshot.token(order.buy_token, f"orders[{i}].buy_token").address
        if sell == buy:
            raise NettingError(f"orders[{i}]", "sell_token and buy_token are the same")
        if order.sell_amount <= 0:
            raise NettingError(f"orders[{i}].sell_amount", f"{order.sell_amount} is not positive")
        if order.min_buy_amount < 0:
            raise NettingError(f"orders[{i}].min_buy_amount", "must not be negative")
        out.append(Order(order.id, sell, buy, order.sell_amount, order.min_buy_amount))
    return out


def _clear_pair(
    market: Market,
    a: str,
    b: str,
    orders: list[Order],
    gas_price: int,
    max_hops: int,
    eth_price: float | None,
) -> tuple[PairClearing, list[Fill]]:
    sold_a = sum(o.sell_amount for o in orders if o.sell_token == a)
    sold_b = sum(o.sell_amount for o in orders if o.sell_token == b)
    ia, ib = market.token_index[a], market.token_index[b]
    rate_ab = _spot(market, ia, ib, max_hops)  # B per A, after fees
    rate_ba = _spot(market, ib, ia, max_hops)  # A per B, after fees
    residual: Route | None = None
    if sold_a and sold_b and rate_ab <= sold_b / sold_a <= (1 / rate_ba if rate_ba else 0.0):
        to_a_side, to_b_side = sold_b, sold_a  # internal cross at the volume ratio
    elif sold_a * rate_ab > sold_b:  # A in excess
        residual = _fixed_point(market, a, b, sold_a, sold_b, gas_price, max_hops, eth_price)
        to_a_side = sold_b + residual.amount_out
        to_b_side = sold_a - residual.amount_in
    else:  # B in excess
        residual = _fixed_point(market, b, a, sold_b, sold_a, gas_price, max_hops, eth_price)
        to_b_side = sold_a + residual.amount_out
        to_a_side = sold_b - residual.amount_in
    shares = _pro_rata(to_a_side, [o.sell_amount if o.sell_token == a else 0 for o in orders])
    for k, share in enumerate(
        _pro_rata(to_b_side, [o.sell_amount if o.sell_token == b else 0 for o in orders])
    ):
        shares[k] += share
    fills = [
        Fill(o.id, o.sell_token, o.buy_token, o.sell_amount, share)
        for o, share in zip(orders, shares, strict=True)
    ]
    price = to_a_side / sold_a if sold_a else sold_b / to_b_side if to_b_side else 0.0
    return PairClearing(a, b, price, sold_a, sold_b, residual), fills


def _pro_rata(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` shared in proportion to ``weights``, in whole base units that add up to exactly
    ``total``: each share rounded down, then the wei that rounding left over (fewer than the
    number of shares) one each to the largest remainders (ties: the earlier order). Every share
    is its exact pro-rata value rounded down or up, and nothing is left over for the executor."""
    weight = sum(weights)
    if weight == 0:
        return [0] * len(weights)
    floors = [total * w // weight for w in weights]
    left = total - sum(floors)
    by_remainder = sorted(
        (k for k, w in enumerate(weights) if w), key=lambda k: (-(total * weights[k] % weight), k)
    )
    for k in by_remainder[:left]:
        floors[k] += 1
    return floors


def _spot(market: Market, sell: int, buy: int, max_hops: int) -> float:
    found = problem(market, sell, buy, max_hops)  # cached with the pair's routing problem
    return found.spot if found is not None else 0.0


def _fixed_point(
    market: Market,
    excess: str,
    other: str,
    sold_excess: int,
    sold_other: int,
    gas_price: int,
    max_hops: int,
    eth_price: float | None,
) -> Route:
    """Route the excess side's residual ``R``: the largest ``R`` whose average AMM price
    ``out(R) / R`` (``other`` per ``excess``) still pays the price the other side's volume
    asks, ``sold_other / (sold_excess - R)``.

    The two prices meet where ``k(R) = out(R) (S_e - R) / R - S_o`` is zero (``S_e``, ``S_o``:
    the amounts the excess and other side sell); ``k`` falls as ``R`` grows, from
    ``spot S_e - S_o > 0`` at ``R -> 0`` to below zero where the asked price reaches the spot
    rate, and ``k / S_o`` is the relative gap between the two prices. Its numerator is exact
    integer arithmetic, so the sign is exact and the value precise near the root. Secant
    steps on ``k`` (Illinois regula falsi when the secant leaves the bracket or stops
    halving it) aiming at the middle of the acceptance window ``0 <= k <= 1e-10 S_o``
    (a route there pays at least the asked price, and the two sides' prices differ by at most
    1e-10): 3-6 routes where bisecting the price took ~35 (docs/BENCHMARKS.md). Returns the
    accepted route, else (bracket 1 wei wide, or the step cap) the largest routed ``R`` with
    ``k >= 0``.
    """
    routes: dict[int, Route] = {}

    def routed(size: int) -> Route:
        size = max(size, 1)
        if size not in routes:
            routes[size] = route(
                market, excess, other, size, gas_price, max_hops=max_hops, eth_price=eth_price
            )
        return routes[size]

    if sold_other == 0:
        return routed(sold_excess)

    def gap(found: Route) -> float:
        size = found.amount_in
        return (found.amount_out * (sold_excess - size) - sold_other * size) / size

    window = _PRICE_TOLERANCE * sold_other
    target = 0.5 * window
    spot = _spot(market, market.token_index[excess], market.token_index[other], max_hops)
    low, k_low = 0, spot * sold_excess - sold_other  # the limit R -> 0 (not routed: 0 wei)
    high = sold_excess - int(sold_other / spot)
    first = routed(high)
    k_high = gap(first)
    if k_high >= 0:  # round-off: the whole residual at the spot rate clears
        return first
    best: Route | None = None  # the largest feasible route so far
    ends = IllinoisBracket(low, k_low - target, high, k_high - target)  # sizes stay integers
    points = [(0.0, ends.f_low), (float(high), ends.f_high)]  # the last two, for the secant
    widths: list[int] = []
    for _ in range(_ROOT_STEPS):
        low, high = int(ends.low), int(ends.high)
        if high - low <= 1:
            break
        (r0, phi0), (r1, phi1) = points
        secant = r1 - phi1 * (r1 - r0) / (phi1 - phi0) if phi1 != phi0 else -1.0
        widths.append(high - low)
        if low < secant < high and (len(widths) < 4 or widths[-1] < 0.5 * widths[-4]):
            size = int(secant)
        else:  # Illinois regula falsi between the bracket's ends (also when the secant
            # has not halved the bracket in three steps)
            size = low + int(ends.fraction() * (high - low))
        size = min(max(size, low + 1), high - 1)
        trial = routed(size)
        k = gap(trial)
        if 0 <= k <= window:
            return trial
        if k >= 0:
            best = trial
        phi = k - target
        points = [points[1], (float(size), phi)]
        ends.move(size, phi, low=phi > 0)
    return best if best is not None else routed(int(ends.low))
