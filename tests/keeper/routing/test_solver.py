"""The dual solver: derivatives, convergence on hard markets, closed form vs Newton, gas pruning,
and what the market compiles once (hop distances, mid prices). Synthetic markets, no chain."""

from __future__ import annotations

import numpy as np
import pytest

from keeper.routing import Market, quote, route
from keeper.routing.dual import Dual
from keeper.routing.graph import candidate_edges
from keeper.routing.solver import newton, solve
from tests.keeper.routing.builders import random_snapshot, snapshot, v2

E18 = 10**18


def _problem(seed: int, n_tokens: int, sell: int, buy: int, amount: float):
    market = Market(random_snapshot(seed, n_tokens, n_v2=4, n_v3=4))
    edges, tokens = candidate_edges(market, sell, buy, 3)
    return market, edges, tokens, Dual(market, edges, tokens, sell, buy, amount)


def _dual_value(dual: Dual, p: np.ndarray) -> float:
    # G(p) = X p_sell + sum_e (p_out y_e - p_in x_e) = p . gradient
    return float(p @ dual.gradient(p))


def _at_a_price_inside_the_segments(market: Market, dual: Dual, buy: int) -> np.ndarray:
    p = market.mid_prices(buy)[dual.order]
    return p * np.r_[np.random.default_rng(1).uniform(0.97, 0.99, dual.m - 1), 1.0]


def test_dual_gradient_and_hessian_match_finite_differences_across_v3_ranges():
    market, _, _, dual = _problem(5, 4, 0, 2, 3e21)
    p = _at_a_price_inside_the_segments(market, dual, 2)
    grad = dual.gradient(p)
    hess = dual.hessian()
    k = dual.m - 1
    for i in range(k):
        h = 1e-7 * p[i]
        up, down = p.copy(), p.copy()
        up[i] += h
        down[i] -= h
        numeric = (_dual_value(dual, up) - _dual_value(dual, down)) / (2 * h)
        assert numeric == pytest.approx(grad[i], rel=1e-5, abs=1e-6 * abs(grad).max())
        column = (dual.gradient(up)[:k] - dual.gradient(down)[:k]) / (2 * h)
        exact = hess[:-1].reshape(k, k)[:, i]
        assert column == pytest.approx(exact, rel=1e-4, abs=1e-6 * abs(hess).max())


def test_newton_converges_where_a_large_trade_runs_v3_pools_dry():
    # 1e22 exceeds what several V3 pools hold in their ranges: tokens lose all curvature
    # and a plain Newton iteration stalls; the solver must still balance every token.
    market, edges, tokens, _ = _problem(14, 5, 0, 2, 1e22)
    mids = market.mid_prices(2)
    sol = solve(market, edges, tokens, 0, 2, 1e22, np.where(np.isnan(mids), 1.0, mids))

    assert sol is not None
    assert sol.residual < 1e-8
    x_in = np.bincount(market.edge_in[edges], sol.x, market.n_tokens)
    y_in = np.bincount(market.edge_out[edges], sol.y, market.n_tokens)
    assert x_in[0] == pytest.approx(1e22, rel=1e-8)
    for t in (1, 3, 4):  # intermediate tokens are conserved
        assert y_in[t] == pytest.approx(x_in[t], rel=1e-6, abs=1e-6 * 1e22)


def test_closed_form_for_one_pair_is_the_newton_optimum():
    market = Market(random_snapshot(2, 2, n_v2=3, n_v3=3))
    edges, tokens = candidate_edges(market, 0, 1, 3)
    start = market.mid_prices(1)
    closed = solve(market, edges, tokens, 0, 1, 5e21, start)
    assert closed is not None
    dual = Dual(market, edges, tokens, 0, 1, 5e21)
    p, _, residual = newton(dual, start[dual.order] * np.r_[0.98, 1.0])

    assert residual < 1e-9
    assert p[dual.sell] == pytest.approx(closed.prices[0], rel=1e-9)


def test_a_warm_start_from_the_optimum_needs_no_newton_step():
    market, edges, tokens, _ = _problem(3, 4, 0, 2, 2e21)
    start = market.mid_prices(2)
    cold = solve(market, edges, tokens, 0, 2, 2e21, start)
    assert cold is not None and cold.iterations > 1
    warm = solve(market, edges, tokens, 0, 2, 2e21, cold.prices, warm=True)

    assert warm is not None and warm.iterations == 1
    assert warm.y.sum() == pytest.approx(cold.y.sum(), rel=1e-12)


def _two_pools(shallow: int) -> Market:
    deep = 10**6 * E18
    return Market(
        snapshot(
            [v2(0, 0, 1, deep, 2 * deep, fee=3000), v2(1, 0, 1, shallow, 2 * shallow, fee=3000)],
            n_tokens=2,
        )
    )


def test_a_pool_whose_gain_does_not_pay_for_its_gas_is_left_out():
    market = _two_pools(10**4 * E18)
    free = route(market, market.tokens[0], market.tokens[1], 100 * E18)
    costly = route(
        market, market.tokens[0], market.tokens[1], 100 * E18, 100 * 10**9, eth_price=2.0
    )

    assert len(free.legs) == 2  # without gas, splitting always gains something
    assert len(costly.legs) == 1  # the shallow pool's gain is worth less than its 75k gas
    assert costly.legs[0].pool == market.snapshot.pools[0].address
    # and nets more than the two-leg split would at that gas price
    assert costly.net_amount_out > free.amount_out - 150_000 * 100 * 10**9 * 2


def test_a_hop_whose_gain_does_not_pay_for_its_gas_is_left_out():
    deep = 10**6 * E18
    pools = [
        v2(0, 0, 2, deep, 4 * deep),  # direct A -> C
        v2(1, 0, 1, deep // 100, 2 * deep // 100),  # A -> B -> C: two more legs
        v2(2, 1, 2, deep // 100, 2 * deep // 100),
    ]
    market = Market(snapshot(pools, n_tokens=3))
    amount = 10**4 * E18  # 1 % of the direct pool: deep enough into it to pay a second fee
    free = route(market, market.tokens[0], market.tokens[2], amount)
    costly = route(market, market.tokens[0], market.tokens[2], amount, 10**13, eth_price=4.0)

    assert {leg.token_in for leg in free.legs} == {market.tokens[0], market.tokens[1]}
    assert [leg.pool for leg in costly.legs] == [market.snapshot.pools[0].address]


def test_the_market_compiles_hop_distances_and_mid_prices_once():
    pools = [v2(0, 0, 1, 10**21, 2 * 10**21), v2(1, 1, 2, 10**21, 4 * 10**21)]
    market = Market(snapshot(pools, n_tokens=4))  # token 3 has no pool

    hops = market.hops
    assert hops[0, 2] == 2 and hops[2, 0] == 2 and hops[0, 1] == 1
    assert np.isinf(hops[0, 3])
    mids = market.mid_prices(2)  # in units of token 2
    assert mids[1] == pytest.approx(4.0) and mids[0] == pytest.approx(8.0)
    assert np.isnan(mids[3])


def test_a_split_that_runs_v3_pools_dry_still_turns_into_exact_legs():
    # The optimum uses two V3 pools up to the end of their liquidity; the float plan keeps a
    # hair inside it so the integer legs fit (before, this fell back to a 30 % worse path).
    market = Market(random_snapshot(14, 5, n_v2=4, n_v3=4))
    r = route(market, market.tokens[0], market.tokens[2], 10**21)
    direct = max(
        quote(market, pool.address, market.tokens[0], 10**21).amount_out
        for pool in market.snapshot.pools
        if {pool.token0, pool.token1} == {market.tokens[0], market.tokens[2]}
    )

    assert r.method == "split"
    assert r.amount_out > 1.4 * direct


def test_with_gas_a_short_path_beats_a_longer_one_that_pays_more_but_costs_more_gas():
    market = Market(random_snapshot(39, 5, n_v2=4, n_v3=4))
    sell, buy = market.tokens[2], market.tokens[0]
    r = route(market, sell, buy, 10**15, 30 * 10**9, eth_price=1.0)
    one_hop = max(
        quote(market, pool.address, sell, 10**15).amount_out - 75_000 * 30 * 10**9
        for pool in market.snapshot.pools
        if pool.kind == "v2" and {pool.token0, pool.token1} == {sell, buy}
    )

    assert r.net_amount_out >= one_hop
