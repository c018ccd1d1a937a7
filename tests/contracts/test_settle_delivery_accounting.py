"""settle: a buy is credited only with what that order's own transfer added to the owner's
balance, so neither another order of the same owner nor an interaction paying the owner directly
can make up a short delivery."""

from __future__ import annotations

import ape
import pytest

from tests.contracts.helpers import call

E18 = 10**18
E6 = 10**6


@pytest.fixture
def usdc_target(owner, executor, usdc):
    executor.setTarget(usdc, True, sender=owner)
    return usdc


def test_one_orders_over_delivery_does_not_count_toward_another_order_of_the_same_owner(
    intents, executor, keeper, alice, weth_like, usdc_target
):
    usdc = usdc_target
    intents.fund(alice, weth_like, 2 * E18)
    first = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 1_000 * E6)], nonce=0)
    second = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 1_000 * E6)], nonce=1)
    orders = [
        intents.order(first, alice, buy_amounts=[1_500 * E6]),
        intents.order(second, alice, buy_amounts=[500 * E6]),
    ]

    # Alice's USDC grows by 2,000 over the batch, both minimums together; the second order alone
    # got 500.
    with ape.reverts(
        executor.BuyBelowMinimum, token=usdc.address, received=500 * E6, minimum=1_000 * E6
    ):
        intents.settle(orders, [call(usdc, "mint", executor, 2_000 * E6)], sender=keeper)
    assert weth_like.balanceOf(alice) == 2 * E18


def test_tokens_an_interaction_sends_the_owner_do_not_count_toward_the_signed_minimum(
    intents, executor, keeper, alice, weth_like, usdc_target
):
    usdc = usdc_target
    intents.fund(alice, weth_like, E18)
    intent = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 3_000 * E6)])
    side_payment = [call(usdc, "mint", alice, 3_000 * E6), call(usdc, "mint", executor, 1)]

    with ape.reverts(executor.BuyBelowMinimum, token=usdc.address, received=1, minimum=3_000 * E6):
        intents.settle([intents.order(intent, alice, buy_amounts=[1])], side_payment, sender=keeper)
    assert usdc.balanceOf(alice) == 0


def test_a_fee_in_the_buy_token_leaves_the_owners_delivery_whole(
    intents, executor, keeper, alice, weth_like, usdc_target
):
    usdc = usdc_target
    intents.fund(alice, weth_like, E18)
    intent = intents.intent(
        alice,
        sells=[(weth_like, E18)],
        buys=[(usdc, 3_000 * E6)],
        fee_token=usdc.address,
        max_fee=10 * E6,
    )

    receipt = intents.settle(
        [intents.order(intent, alice, fee=10 * E6)],
        [call(usdc, "mint", executor, 3_010 * E6)],
        sender=keeper,
    )

    assert usdc.balanceOf(alice) == 3_000 * E6
    assert usdc.balanceOf(keeper) == 10 * E6
    [settled] = receipt.decode_logs(executor.IntentSettled)
    assert (list(settled.received), settled.fee) == ([3_000 * E6], 10 * E6)
