"""settle gas: netting beats one Router02 swap transaction per leg, and the marginal cost of an
extra 1-leg intent stays under its recorded ceiling (docs/BENCHMARKS.md, "Executor")."""

from __future__ import annotations

import pytest

from bench.bench_executor import deploy, netted_batch_gas, new_user, router_swap_gas

#: ceiling just above what this test measures (51,054; docs/BENCHMARKS.md): a regression fails
MARGINAL_CEILING = 52_500


@pytest.mark.slow
def test_each_extra_netted_intent_costs_less_than_a_router_swap_and_stays_under_the_ceiling(
    project, accounts, chain
):
    market = deploy(project, accounts, chain)
    users = [new_user(market, accounts, chain, 10**30) for _ in range(6)]
    netted_batch_gas(market, users, 0, chain)  # users have settled before (nonce word in use)

    two = netted_batch_gas(market, users[:2], 1, chain)
    six = netted_batch_gas(market, users, 2, chain)
    marginal = (six - two) / 4
    swap = router_swap_gas(market, users[0])

    assert marginal < MARGINAL_CEILING
    assert marginal < swap
    assert six < 6 * swap
