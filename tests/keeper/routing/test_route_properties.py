"""Property tests of route(): conservation, never below the best single pool or path,
monotone in the input. Synthetic V2 + V3 markets, no chain."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keeper.routing import Market, route
from keeper.routing.exceptions import QuoteError
from keeper.routing.quotes import quote_edge
from tests.keeper.routing.builders import random_snapshot

pytestmark = pytest.mark.fuzzing
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_markets: dict[tuple[int, int], Market] = {}


def market(seed: int, n_tokens: int = 3) -> Market:
    key = (seed, n_tokens)
    if key not in _markets:
        _markets[key] = Market(random_snapshot(seed, n_tokens, n_v2=3, n_v3=3))
    return _markets[key]


def best_single_path(m: Market, sell: int, buy: int, amount: int, hops: int = 3) -> int:
    """Brute force over every simple path of at most ``hops`` pools, exact quotes."""
    best = 0

    def walk(token: int, carried: int, seen: set[int], depth: int) -> None:
        nonlocal best
        if token == buy:
            best = max(best, carried)
            return
        if depth == hops:
            return
        for edge in range(len(m.edge_in)):
            nxt = int(m.edge_out[edge])
            if m.edge_in[edge] != token or nxt in seen or m.q[edge, 0] == 0:
                continue
            try:
                out = quote_edge(m, edge, carried).amount_out
            except (QuoteError, ValueError):
                continue
            if out > 0:
                walk(nxt, out, seen | {nxt}, depth + 1)

    walk(sell, amount, {sell}, 0)
    return best


def best_single_pool(m: Market, sell: int, buy: int, amount: int) -> int:
    outs = [0]
    for e in range(len(m.edge_in)):
        if m.edge_in[e] == sell and m.edge_out[e] == buy and m.q[e, 0] > 0:
            try:
                outs.append(quote_edge(m, e, amount).amount_out)
            except QuoteError:
                continue  # the pool cannot take it all
    return max(outs)


amounts = st.integers(min_value=10**6, max_value=10**22)
seeds = st.integers(min_value=0, max_value=7)


@SETTINGS
@given(seed=seeds, amount=amounts, pair=st.sampled_from([(0, 2), (2, 0), (1, 0), (0, 1)]))
def test_route_conserves_every_token_and_uses_exactly_the_input(seed, amount, pair):
    m = market(seed)
    sell, buy = (m.tokens[i] for i in pair)
    r = route(m, sell, buy, amount)

    flow: dict[str, int] = defaultdict(int)
    for leg in r.legs:
        flow[leg.token_in] -= leg.amount_in
        flow[leg.token_out] += leg.amount_out
    assert flow[sell] == -amount
    assert flow[buy] == r.amount_out
    assert all(v == 0 for t, v in flow.items() if t not in (sell, buy))
    # every leg's output is its exact quote, legs chained in execution order
    available = {sell: amount}
    for leg in r.legs:
        assert available.get(leg.token_in, 0) >= leg.amount_in
        available[leg.token_in] -= leg.amount_in
        available[leg.token_out] = available.get(leg.token_out, 0) + leg.amount_out


@SETTINGS
@given(seed=seeds, amount=amounts, pair=st.sampled_from([(0, 2), (2, 0), (1, 2)]))
def test_route_is_never_below_the_best_single_pool_or_single_path(seed, amount, pair):
    m = market(seed)
    sell, buy = pair
    r = route(m, m.tokens[sell], m.tokens[buy], amount)

    assert r.amount_out >= best_single_pool(m, sell, buy, amount)
    assert r.amount_out >= best_single_path(m, sell, buy, amount)


@SETTINGS
@given(seed=seeds, amount=amounts, bump=st.floats(min_value=1e-3, max_value=2.0))
def test_more_input_never_gives_less_output(seed, amount, bump):
    m = market(seed)
    small = route(m, m.tokens[0], m.tokens[2], amount)
    large = route(m, m.tokens[0], m.tokens[2], amount + max(1, int(amount * bump)))

    assert large.amount_out >= small.amount_out


@SETTINGS
@given(seed=seeds, amount=amounts)
def test_certificate_prices_every_used_leg_at_its_final_marginal_rate(seed, amount):
    m = market(seed)
    r = route(m, m.tokens[0], m.tokens[2], amount)
    if r.method != "split":
        return
    prices = r.certificate.prices
    assert prices[m.tokens[2]] == 1.0
    assert r.certificate.marginal_price == prices[m.tokens[0]]
    # the average price can never beat the first unit: impact is non-negative
    assert r.price_impact >= -1e-9
    if r.price_impact > 1e-5:
        # Below that the trade moves prices less than float round-off can resolve; the integer
        # plan is still exact and conserving, only the certificate is blurred.
        assert r.certificate.residual < 1e-6
