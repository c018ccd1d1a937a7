"""The keeper fee never makes a pull exceed what the user signed, whichever sell leg it is in."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.intents.types import RebalanceIntent, TokenAmount
from tests.keeper.pipeline.test_planner_prices import (
    E18,
    USDC,
    WBTC,
    WETH,
    _fee_planner,
    _fees,
    _market,
)

OWNER = "0x" + "01" * 20


def _multi(weth: int, wbtc: int, fee_token: str, max_fee: int, minimum: int = 1) -> RebalanceIntent:
    return RebalanceIntent(
        owner=OWNER,
        executor="0x" + "ee" * 20,
        nonce=1,
        deadline=10**10,
        sells=[TokenAmount(token=WETH, amount=weth), TokenAmount(token=WBTC, amount=wbtc)],
        buys=[TokenAmount(token=USDC, amount=minimum)],
        fee_token=fee_token,
        max_fee=max_fee,
    )


@settings(max_examples=60, deadline=None)
@given(
    weth=st.integers(min_value=1, max_value=10**21),
    wbtc=st.integers(min_value=1, max_value=10**9),
    fee_in_wbtc=st.booleans(),
    max_fee=st.integers(min_value=1, max_value=10**20),
    gwei=st.integers(min_value=1, max_value=500),
)
def test_pieces_of_each_sell_leg_add_up_to_the_leg_less_the_fee(
    weth, wbtc, fee_in_wbtc, max_fee, gwei
):
    planner = _fee_planner(60_000)
    prices = planner.prices(_market())
    intent = _multi(weth, wbtc, WBTC if fee_in_wbtc else WETH, max_fee)
    leg, fee = planner.keeper_fee(intent, _fees(gwei), prices)
    assert fee <= max_fee and (leg == -1 or fee <= intent.sells[leg].amount // 2)
    pieces = planner._pieces("x", intent, prices, (leg, fee))
    for i, sell in enumerate(intent.sells):
        total = sum(p.sell_amount for p in pieces if p.id.startswith(f"x#{i}."))
        assert total + (fee if i == leg else 0) == sell.amount


def test_a_fee_in_the_second_sell_leg_is_pulled_with_that_leg_within_the_signed_maxima():
    planner = _fee_planner(60_000)
    intent = _multi(E18, 10**6, WBTC, 10**5)
    signed = _candidate(intent)
    plan = planner.plan([signed], _head(), _fees(10))
    assert plan.settlement is not None, plan.dropped
    (order,) = plan.settlement.orders
    execution = order.execution
    assert 0 < execution.fee <= intent.max_fee
    for amount, leg in zip(execution.sell_amounts, intent.sells, strict=True):
        assert amount <= leg.amount
    # the WBTC pull carries the fee on top of what is traded; nothing is pulled twice
    assert execution.sell_amounts[1] == 10**6


def _candidate(intent: RebalanceIntent):
    from eth_account import Account

    from keeper.intents.signing import sign_intent
    from keeper.intents.validation import SignedIntent
    from keeper.settlement.plan import Candidate

    user = Account.from_key("0x" + "42" * 32)
    intent = intent.model_copy(update={"owner": user.address})
    signed = SignedIntent(intent=intent, signature=sign_intent(intent, user, 1))
    return Candidate("x", signed, 0)


def _head():
    from keeper.chain.head import Head

    return Head(number=1, timestamp=1, base_fee=10**10, gas_used=0, gas_limit=30_000_000)
