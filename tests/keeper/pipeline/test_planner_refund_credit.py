"""A user's builder-refund credit lowers the keeper fee of their next intent by exactly the
credit (its value in the fee token at the block's prices), and is used only as far as it goes."""

from __future__ import annotations

from keeper.intents.types import RebalanceIntent, TokenAmount
from tests.keeper.pipeline.test_planner_fee_pull import _candidate, _head
from tests.keeper.pipeline.test_planner_prices import (
    E18,
    USDC,
    WBTC,
    WETH,
    _fee_planner,
    _fees,
    _market,
)


def _intent(fee_token: str = WBTC) -> RebalanceIntent:
    return RebalanceIntent(
        owner="0x" + "01" * 20,
        executor="0x" + "ee" * 20,
        nonce=1,
        deadline=10**10,
        sells=[TokenAmount(token=WETH, amount=E18), TokenAmount(token=WBTC, amount=10**6)],
        buys=[TokenAmount(token=USDC, amount=1)],
        fee_token=fee_token,
        max_fee=10**6,
    )


def _plan(credit: int | None):
    planner = _fee_planner(60_000)
    candidate = _candidate(_intent())
    owner = candidate.signed.intent.owner
    if credit is not None:
        planner.credit_source = lambda owners: {owner: credit} if owner in owners else {}
    plan = planner.plan([candidate], _head(), _fees(10))
    assert plan.settlement is not None, plan.dropped
    return planner, plan.settlement


def test_the_fee_goes_down_by_exactly_the_credit_in_the_fee_token():
    planner, full = _plan(None)
    gross = full.orders[0].execution.fee
    credit = 2 * 10**14  # wei: a third of 60,000 gas at 10 gwei
    _, credited = _plan(credit)
    prices = planner.prices(_market())
    units = planner.wei_in_token(credit, WBTC, prices)
    assert 0 < units < gross
    assert credited.orders[0].execution.fee == gross - units
    assert credited.credits == {"x": credit}
    assert credited.credit_units == {"x": units}
    assert full.credits == {}


def test_a_credit_larger_than_the_fee_makes_it_free_and_keeps_the_rest():
    planner, full = _plan(None)
    gross = full.orders[0].execution.fee
    _, credited = _plan(10**18)
    assert credited.orders[0].execution.fee == 0
    used = credited.credits["x"]
    prices = planner.prices(_market())
    # only what the fee was worth is used (to within one base unit of the fee token)
    assert planner.wei_in_token(used, WBTC, prices) in (gross, gross - 1, gross + 1)
    assert used < 10**18
    assert credited.credit_units == {"x": gross}
