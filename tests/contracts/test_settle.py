"""settle: the happy paths (one user, many users, users netted with no swap, real V2 swaps)."""

from __future__ import annotations

from tests.contracts.helpers import MINT, ROUTED_TOKEN, SWAP_EXACT_TOKENS, allow, call

E18 = 10**18
E6 = 10**6


def test_one_user_sells_into_a_keeper_provided_counter_flow(
    intents, executor, owner, keeper, alice, weth_like, usdc
):
    intents.fund(alice, weth_like, 2 * E18)
    # The counter-flow comes from an interaction (here the test token's open mint stands in for
    # a swap's output); the executor's own earlier balance could not be used (no deficit).
    allow(executor, owner, usdc, MINT)
    intent = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 2_900 * E6)])
    order = intents.order(intent, alice, buy_amounts=[3_000 * E6])

    receipt = intents.settle([order], [call(usdc, "mint", executor, 3_000 * E6)], sender=keeper)

    assert weth_like.balanceOf(alice) == E18
    assert usdc.balanceOf(alice) == 3_000 * E6
    assert weth_like.balanceOf(executor) == E18
    assert executor.isNonceUsed(alice, 0)
    [event] = receipt.decode_logs(executor.IntentSettled)
    assert event.owner == alice.address
    assert event.nonce == 0
    assert list(event.sold) == [E18]
    assert list(event.received) == [3_000 * E6]
    assert event.fee == 0
    [summary] = receipt.decode_logs(executor.Settlement)
    assert (summary.keeper, summary.orders, summary.interactions) == (keeper.address, 1, 1)


def test_two_users_with_opposite_flows_settle_against_each_other_with_no_swap(
    intents, executor, vault, keeper, alice, bob, weth_like, usdc
):
    intents.fund(alice, weth_like, E18)
    intents.fund(bob, usdc, 3_000 * E6, allowance=5_000 * E6)
    alice_intent = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 2_990 * E6)])
    bob_intent = intents.intent(bob, sells=[(usdc, 3_000 * E6)], buys=[(weth_like, E18)])

    receipt = intents.settle(
        [
            intents.order(alice_intent, alice, buy_amounts=[3_000 * E6]),
            intents.order(bob_intent, bob),
        ],
        sender=keeper,
    )

    assert usdc.balanceOf(alice) == 3_000 * E6
    assert weth_like.balanceOf(bob) == E18
    assert weth_like.balanceOf(executor) == 0
    assert usdc.balanceOf(executor) == 0
    assert vault.allowance(bob, usdc).amount == 2_000 * E6
    assert len(receipt.decode_logs(executor.IntentSettled)) == 2
    assert not receipt.decode_logs(executor.InteractionExecuted)


def test_many_users_settle_in_one_batch_and_each_gets_at_least_the_minimum(
    intents, executor, keeper, accounts, weth_like, usdc
):
    users = [accounts[i] for i in range(2, 8)]
    orders = []
    for nonce, user in enumerate(users):
        if nonce % 2 == 0:
            intents.fund(user, weth_like, E18)
            intent = intents.intent(
                user, sells=[(weth_like, E18)], buys=[(usdc, 3_000 * E6)], nonce=nonce
            )
        else:
            intents.fund(user, usdc, 3_000 * E6)
            intent = intents.intent(
                user, sells=[(usdc, 3_000 * E6)], buys=[(weth_like, E18)], nonce=nonce
            )
        orders.append(intents.order(intent, user))

    intents.settle(orders, sender=keeper)

    for nonce, user in enumerate(users):
        assert executor.isNonceUsed(user, nonce)
        if nonce % 2 == 0:
            assert (weth_like.balanceOf(user), usdc.balanceOf(user)) == (0, 3_000 * E6)
        else:
            assert (weth_like.balanceOf(user), usdc.balanceOf(user)) == (E18, 0)


def test_keeper_fee_is_paid_from_the_batch_to_the_settling_keeper(
    intents, executor, keeper, alice, bob, weth_like, usdc
):
    intents.fund(alice, weth_like, E18)
    intents.fund(bob, usdc, 3_010 * E6)
    alice_intent = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 3_000 * E6)])
    bob_intent = intents.intent(
        bob,
        sells=[(usdc, 3_010 * E6)],
        buys=[(weth_like, E18)],
        fee_token=usdc.address,
        max_fee=10 * E6,
    )

    receipt = intents.settle(
        [intents.order(alice_intent, alice), intents.order(bob_intent, bob, fee=10 * E6)],
        sender=keeper,
    )

    assert usdc.balanceOf(keeper) == 10 * E6
    assert usdc.balanceOf(executor) == 0
    fees = [e.fee for e in receipt.decode_logs(executor.IntentSettled)]
    assert fees == [0, 10 * E6]


def test_multi_asset_rebalance_with_real_uniswap_v2_swaps_as_interactions(
    intents, executor, owner, keeper, alice, weth_like, usdc, wbtc, uniswap_v2
):
    router, _factory = uniswap_v2
    allow(executor, owner, router, SWAP_EXACT_TOKENS)
    for token in (weth_like, wbtc):
        allow(executor, owner, token, *ROUTED_TOKEN)
    intents.fund(alice, weth_like, 2 * E18)
    intents.fund(alice, wbtc, 10**8)
    # Alice sells 1 WBTC and 2 WETH for USDC: WBTC -> WETH -> USDC through two pools.
    wbtc_out = router.getAmountsOut(10**8, [wbtc, weth_like])[-1]
    usdc_out = router.getAmountsOut(2 * E18 + wbtc_out, [weth_like, usdc])[-1]
    intent = intents.intent(
        alice,
        sells=[(wbtc, 10**8), (weth_like, 2 * E18)],
        buys=[(usdc, usdc_out * 99 // 100)],
    )
    swaps = [
        call(wbtc, "approve", router, 10**8),
        call(router, "swapExactTokensForTokens", 10**8, 0, [wbtc, weth_like], executor, 2**40),
        call(weth_like, "approve", router, 2 * E18 + wbtc_out),
        call(
            router,
            "swapExactTokensForTokens",
            2 * E18 + wbtc_out,
            0,
            [weth_like, usdc],
            executor,
            2**40,
        ),
    ]

    receipt = intents.settle(
        [intents.order(intent, alice, buy_amounts=[usdc_out])], swaps, sender=keeper
    )

    assert usdc.balanceOf(alice) == usdc_out
    assert (wbtc.balanceOf(alice), weth_like.balanceOf(alice)) == (0, 0)
    assert usdc.balanceOf(executor) == 0
    assert [e.target for e in receipt.decode_logs(executor.InteractionExecuted)] == [
        wbtc.address,
        router.address,
        weth_like.address,
        router.address,
    ]


def test_a_batch_touching_more_tokens_than_the_ledger_first_holds_settles(
    project, intents, executor, owner, keeper, alice
):
    # Ten distinct tokens: the executor's token ledger starts with room for eight and grows.
    sold = [owner.deploy(project.TestToken, f"T{i}", f"T{i}", 18) for i in range(9)]
    bought = owner.deploy(project.TestToken, "B", "B", 18)
    for token in sold:
        intents.fund(alice, token, E18)
        token.mint(executor, 5, sender=owner)  # earlier balances the ledger must carry over
    allow(executor, owner, bought, MINT)
    intent = intents.intent(alice, sells=[(t, E18) for t in sold], buys=[(bought, E18)])

    intents.settle(
        [intents.order(intent, alice)], [call(bought, "mint", executor, E18)], sender=keeper
    )

    assert [t.balanceOf(executor) for t in sold] == [E18 + 5] * 9
    assert bought.balanceOf(alice) == E18
