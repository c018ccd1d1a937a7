"""settle with direct legs: a sell leg sent straight from its seller to the owner of a buy leg of
the same batch in the same token (one transfer instead of two for a coincidence of wants). What
counts toward a buyer's signed minimum is its measured balance growth over the batch, so a
direct leg cannot loosen anyone's limits, whoever the keeper routes it to."""

from __future__ import annotations

import ape
import pytest

from tests.contracts.helpers import MINT, allow

E18 = 10**18
E6 = 10**6
FEE_BPS = 100


@pytest.fixture
def mintable(owner, executor, weth_like, usdc):
    """WETH and USDC allow-listed as targets, so an interaction can mint (a stand-in swap)."""
    allow(executor, owner, weth_like, MINT)
    allow(executor, owner, usdc, MINT)
    return weth_like, usdc


def _transfers(receipt, token) -> list[tuple[str, str, int]]:
    """The token's Transfer logs (decode_logs matches the event of any contract)."""
    logs = receipt.decode_logs(token.Transfer)
    return [(t["from"], t.to, t.value) for t in logs if t.contract_address == token.address]


def _received(receipt, executor) -> list[tuple[str, list[int], list[int]]]:
    return [
        (e.owner, list(e.sold), list(e.received))
        for e in receipt.decode_logs(executor.IntentSettled)
    ]


def test_two_opposite_intents_settle_by_direct_legs_with_one_transfer_each_and_no_executor_hop(
    intents, executor, keeper, alice, bob, weth_like, usdc
):
    intents.fund(alice, weth_like, 2 * E18)
    intents.fund(bob, usdc, 5_000 * E6)
    alice_intent = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 2_990 * E6)])
    bob_intent = intents.intent(bob, sells=[(usdc, 3_000 * E6)], buys=[(weth_like, E18 - 10)])
    orders = [
        intents.order(alice_intent, alice, buy_amounts=[0], sell_to=[(1, 0)]),
        intents.order(bob_intent, bob, buy_amounts=[0], sell_to=[(0, 0)]),
    ]
    held = (weth_like.balanceOf(executor), usdc.balanceOf(executor))

    receipt = intents.settle(orders, sender=keeper)

    assert (weth_like.balanceOf(alice), usdc.balanceOf(alice)) == (E18, 3_000 * E6)
    assert (weth_like.balanceOf(bob), usdc.balanceOf(bob)) == (E18, 2_000 * E6)
    assert (weth_like.balanceOf(executor), usdc.balanceOf(executor)) == held
    assert _transfers(receipt, weth_like) == [(alice.address, bob.address, E18)]
    assert _transfers(receipt, usdc) == [(bob.address, alice.address, 3_000 * E6)]
    assert _received(receipt, executor) == [
        (alice.address, [E18], [3_000 * E6]),
        (bob.address, [3_000 * E6], [E18]),
    ]


@pytest.fixture
def partly_direct(intents, alice, bob, carol, mintable):
    """Alice buys >= 3 WETH for 9,000 USDC. Bob sells her 1 WETH directly; Carol sells 2 WETH to
    the executor, which passes them on to Alice. Bob and Carol are paid from Alice's USDC."""
    weth, usdc = mintable
    intents.fund(alice, usdc, 9_000 * E6)
    intents.fund(bob, weth, E18)
    intents.fund(carol, weth, 2 * E18)
    alice_intent = intents.intent(alice, sells=[(usdc, 9_000 * E6)], buys=[(weth, 3 * E18)])
    bob_intent = intents.intent(bob, sells=[(weth, E18)], buys=[(usdc, 3_000 * E6)])
    carol_intent = intents.intent(carol, sells=[(weth, 2 * E18)], buys=[(usdc, 6_000 * E6)])

    def orders(executor_delivers: int):
        return [
            intents.order(alice_intent, alice, buy_amounts=[executor_delivers]),
            intents.order(bob_intent, bob, sell_to=[(0, 0)]),
            intents.order(carol_intent, carol),
        ]

    return orders


def test_a_direct_leg_and_the_executors_delivery_together_make_up_the_buyers_minimum(
    intents, executor, keeper, alice, bob, carol, weth_like, usdc, partly_direct
):
    receipt = intents.settle(partly_direct(2 * E18), sender=keeper)

    assert weth_like.balanceOf(alice) == 3 * E18
    assert (usdc.balanceOf(bob), usdc.balanceOf(carol)) == (3_000 * E6, 6_000 * E6)
    assert (weth_like.balanceOf(executor), usdc.balanceOf(executor)) == (0, 0)
    assert _transfers(receipt, weth_like) == [
        (bob.address, alice.address, E18),
        (carol.address, executor.address, 2 * E18),
        (executor.address, alice.address, 2 * E18),
    ]
    assert _received(receipt, executor)[0] == (alice.address, [9_000 * E6], [3 * E18])


def test_a_direct_leg_that_leaves_the_buyer_short_of_its_minimum_reverts_with_the_measured_amount(
    intents, executor, keeper, alice, weth_like, partly_direct
):
    # The executor keeps one of Carol's WETH (no deficit): Alice's WETH grows by 1 + 1.
    with ape.reverts(
        executor.BuyBelowMinimum, token=weth_like.address, received=2 * E18, minimum=3 * E18
    ):
        intents.settle(partly_direct(E18), sender=keeper)
    assert weth_like.balanceOf(alice) == 0


@pytest.mark.parametrize(
    ("to", "error_args"),
    [((2, 0), (2, 0)), ((1, 1), (1, 1)), ((0, 0), (0, 0))],
    ids=["to-order-out-of-range", "to-leg-out-of-range", "buy-leg-in-another-token"],
)
def test_a_direct_leg_to_anything_but_a_buy_leg_of_the_batch_in_the_sold_token_is_refused(
    intents, executor, keeper, alice, bob, weth_like, usdc, to, error_args
):
    intents.fund(alice, weth_like, E18)
    intents.fund(bob, usdc, 3_000 * E6)
    alice_intent = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 3_000 * E6)])
    bob_intent = intents.intent(bob, sells=[(usdc, 3_000 * E6)], buys=[(weth_like, E18)])
    orders = [
        intents.order(alice_intent, alice, buy_amounts=[0], sell_to=[to]),
        intents.order(bob_intent, bob, buy_amounts=[0], sell_to=[(0, 0)]),
    ]

    with ape.reverts(executor.InvalidRecipient, toOrder=error_args[0], toLeg=error_args[1]):
        intents.settle(orders, sender=keeper)
    orders[0] = intents.order(alice_intent, alice, buy_amounts=[0], sell_to=[(1, 0)])
    intents.settle(orders, sender=keeper)  # the same batch, correctly routed, settles


def test_routing_a_users_sell_to_the_attackers_own_order_still_holds_every_signed_limit(
    intents, executor, owner, keeper, attacker, alice, weth_like, usdc
):
    # The attacker signs a real order buying WETH with minimum 0 and points Alice's WETH at it.
    usdc.mint(executor, 3_000 * E6, sender=owner)  # a balance at rest the attacker eyes
    intents.fund(alice, weth_like, E18)
    intents.fund(attacker, usdc, 3_000 * E6)
    alice_intent = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 3_000 * E6)])
    grab = intents.intent(attacker, buys=[(weth_like, 0)])
    pay = intents.intent(attacker, sells=[(usdc, 3_000 * E6)], buys=[(weth_like, 0)])

    def batch(alice_gets: int, attacker_order):
        return [
            intents.order(alice_intent, alice, buy_amounts=[alice_gets], sell_to=[(1, 0)]),
            attacker_order,
        ]

    # Nothing for Alice: her measured USDC growth is 0.
    with ape.reverts(executor.BuyBelowMinimum, token=usdc.address, received=0, minimum=3_000 * E6):
        intents.settle(batch(0, intents.order(grab, attacker)), sender=keeper)
    # Alice paid out of the executor's balance at rest: a deficit.
    with ape.reverts(
        executor.TokenDeficit, token=usdc.address, balanceBefore=3_000 * E6, balanceAfter=0
    ):
        intents.settle(batch(3_000 * E6, intents.order(grab, attacker)), sender=keeper)
    assert (weth_like.balanceOf(alice), weth_like.balanceOf(attacker)) == (E18, 0)

    # Only an attacker paying Alice's minimum itself gets her WETH: a trade at her limit.
    paying = intents.order(pay, attacker, buy_amounts=[0], sell_to=[(0, 0)])
    intents.settle(batch(0, paying), sender=keeper)
    assert (weth_like.balanceOf(alice), usdc.balanceOf(alice)) == (0, 3_000 * E6)
    assert (weth_like.balanceOf(attacker), usdc.balanceOf(attacker)) == (E18, 0)
    assert usdc.balanceOf(executor) == 3_000 * E6


@pytest.mark.parametrize("bob_minimum", [990 * E18, 990 * E18 + 1])
def test_a_fee_on_transfer_token_through_a_direct_leg_counts_what_reaches_the_buyer(
    project, intents, executor, owner, keeper, alice, bob, usdc, bob_minimum
):
    token = owner.deploy(project.FeeOnTransferToken, "Fee", "FEE", FEE_BPS)
    sold = 1_000 * E18
    reaches_bob = sold - sold * FEE_BPS // 10_000  # one transfer, one fee
    intents.fund(alice, token, sold)
    intents.fund(bob, usdc, 500 * E6)
    alice_intent = intents.intent(alice, sells=[(token, sold)], buys=[(usdc, 500 * E6)])
    bob_intent = intents.intent(bob, sells=[(usdc, 500 * E6)], buys=[(token, bob_minimum)])
    orders = [
        intents.order(alice_intent, alice, buy_amounts=[0], sell_to=[(1, 0)]),
        intents.order(bob_intent, bob, buy_amounts=[0], sell_to=[(0, 0)]),
    ]

    if bob_minimum > reaches_bob:
        with ape.reverts(
            executor.BuyBelowMinimum, token=token.address, received=reaches_bob, minimum=bob_minimum
        ):
            intents.settle(orders, sender=keeper)
        assert token.balanceOf(alice) == sold
        return
    receipt = intents.settle(orders, sender=keeper)
    assert token.balanceOf(bob) == reaches_bob
    assert _received(receipt, executor)[1] == (bob.address, [500 * E6], [reaches_bob])
