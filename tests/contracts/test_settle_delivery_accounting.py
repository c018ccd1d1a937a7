"""settle: a buy is credited with the owner's balance growth in that token over the whole batch
(read before anything moves, and again after delivery), whatever brought it: the executor's
transfer, a direct leg, an interaction. So one balance may back only one buy leg per batch:
a second buy of the same (owner, token) is refused with DuplicateBuy."""

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


def test_two_orders_of_one_owner_buying_the_same_token_are_refused(
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

    # Alice's USDC grows by 2,000 over the batch, both minimums together: one measured balance
    # cannot tell the two orders' shares apart, so the batch is refused before anything moves.
    with ape.reverts(executor.DuplicateBuy, owner=alice.address, token=usdc.address):
        intents.settle(orders, [call(usdc, "mint", executor, 2_000 * E6)], sender=keeper)
    assert weth_like.balanceOf(alice) == 2 * E18
    intents.settle(orders[:1], [call(usdc, "mint", executor, 1_500 * E6)], sender=keeper)
    assert usdc.balanceOf(alice) == 1_500 * E6


def test_two_buy_legs_of_one_intent_in_the_same_token_are_refused(
    intents, executor, keeper, alice, weth_like, usdc_target
):
    usdc = usdc_target
    intents.fund(alice, weth_like, E18)
    intent = intents.intent(
        alice, sells=[(weth_like, E18)], buys=[(usdc, 1_000 * E6), (usdc, 1_000 * E6)]
    )

    with ape.reverts(executor.DuplicateBuy, owner=alice.address, token=usdc.address):
        intents.settle(
            [intents.order(intent, alice)],
            [call(usdc, "mint", executor, 2_000 * E6)],
            sender=keeper,
        )


def test_another_order_of_the_owner_selling_the_bought_token_is_netted_against_the_buy(
    intents, executor, keeper, alice, weth_like, usdc_target
):
    usdc = usdc_target
    intents.fund(alice, weth_like, E18)
    intents.fund(alice, usdc, 5_000 * E6)
    buy = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 3_000 * E6)], nonce=0)
    sell = intents.intent(alice, sells=[(usdc, 2_000 * E6)], buys=[], nonce=1)
    orders = [intents.order(buy, alice), intents.order(sell, alice)]

    # The executor delivers 3,000 while the other order takes 2,000: her balance grew by 1,000.
    with ape.reverts(
        executor.BuyBelowMinimum, token=usdc.address, received=1_000 * E6, minimum=3_000 * E6
    ):
        intents.settle(orders, [call(usdc, "mint", executor, 3_000 * E6)], sender=keeper)


def test_a_balance_that_shrinks_over_the_batch_counts_as_nothing_received(
    intents, executor, keeper, alice, weth_like, usdc_target
):
    usdc = usdc_target
    intents.fund(alice, weth_like, E18)
    intents.fund(alice, usdc, 5_000 * E6)
    buy = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 1)], nonce=0)
    sell = intents.intent(alice, sells=[(usdc, 2_000 * E6)], buys=[], nonce=1)
    orders = [intents.order(buy, alice), intents.order(sell, alice)]

    with ape.reverts(executor.BuyBelowMinimum, token=usdc.address, received=0, minimum=1):
        intents.settle(orders, [call(usdc, "mint", executor, 1_000 * E6)], sender=keeper)


def test_tokens_an_interaction_sends_the_owner_count_toward_the_signed_minimum(
    intents, executor, keeper, alice, weth_like, usdc_target
):
    usdc = usdc_target
    intents.fund(alice, weth_like, E18)
    intent = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 3_000 * E6)])
    side_payment = [call(usdc, "mint", alice, 3_000 * E6), call(usdc, "mint", executor, 1)]

    receipt = intents.settle(
        [intents.order(intent, alice, buy_amounts=[1])], side_payment, sender=keeper
    )

    # What counts is what she holds: 3,000 from the interaction and 1 from the executor.
    assert usdc.balanceOf(alice) == 3_000 * E6 + 1
    [settled] = receipt.decode_logs(executor.IntentSettled)
    assert list(settled.received) == [3_000 * E6 + 1]


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
