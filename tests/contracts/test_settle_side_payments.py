"""settle: a buy counts only what the executor delivers and what direct legs bring, each measured
around that transfer alone (audit finding 1). A payment the keeper makes someone else send the
owner during the batch (her own rewards, a vesting release, an airdrop claim) never counts, so a
keeper cannot pay Alice with money she was already owed and keep what she sold.

The two routes the audit reproduced: (a) a second order, signed by the keeper's own puppet,
sells a token the keeper deployed whose transfer calls ``claim(alice)``; (b) an allow-listed
Uniswap V2 pair's flash-swap callback (``uniswapV2Call``) calls it."""

from __future__ import annotations

import ape
import pytest
from eth_abi import encode

from tests.contracts.helpers import allow, call, raw_call

E18 = 10**18
E6 = 10**6
OWED = 3_000 * E6  # Alice's rewards, already hers to claim
MINIMUM = 2_950 * E6  # "sell 1 WETH for at least 2,950 USDC"


@pytest.fixture
def rewards(project, owner, alice, usdc):
    """A rewards contract owing Alice 3,000 USDC that anyone can make pay her."""
    contract = owner.deploy(project.ClaimableRewards, usdc)
    usdc.mint(contract, OWED, sender=owner)
    contract.accrue(alice, OWED, sender=owner)
    return contract


@pytest.fixture
def alice_sells_weth(intents, alice, weth_like, usdc):
    """Alice's signed intent: sell 1 WETH for >= 2,950 USDC."""
    intents.fund(alice, weth_like, E18)
    return intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, MINIMUM)])


def _unharmed(alice, weth_like, usdc, rewards) -> None:
    assert weth_like.balanceOf(alice) == E18
    assert usdc.balanceOf(alice) == 0
    assert rewards.owed(alice) == OWED


def test_route_a_a_puppet_order_selling_a_hook_token_cannot_pay_alice_with_her_own_rewards(
    project, intents, executor, keeper, attacker, alice, weth_like, usdc, rewards, alice_sells_weth
):
    # The keeper's puppet signs a real order selling a token the keeper deployed; the vault's
    # pull of it runs the token's hook, which claims Alice's rewards for her.
    hook = attacker.deploy(project.ReentrantToken)
    intents.fund(attacker, hook, 1)
    hook.arm(rewards, rewards.claim.encode_input(alice), sender=attacker)
    puppet = intents.intent(attacker, sells=[(hook, 1)], buys=[])
    orders = [
        intents.order(alice_sells_weth, alice, buy_amounts=[0]),  # the executor delivers nothing
        intents.order(puppet, attacker),
    ]

    with ape.reverts(executor.BuyBelowMinimum, token=usdc.address, received=0, minimum=MINIMUM):
        intents.settle(orders, sender=keeper)
    _unharmed(alice, weth_like, usdc, rewards)


@pytest.fixture
def weth_usdc_pair(owner, executor, uniswap_v2, weth_like, usdc):
    """The WETH/USDC Uniswap V2 pair, allow-listed for routing as the keeper's deployment does
    (the input token's transfer to the pair, then the pair's swap)."""
    _, factory = uniswap_v2
    pair = factory.getPair(weth_like, usdc)
    allow(executor, owner, pair, "swap(uint256,uint256,address,bytes)")
    allow(executor, owner, weth_like, "transfer(address,uint256)")
    return pair


def test_route_b_a_flash_swap_callback_cannot_pay_alice_with_her_own_rewards(
    project,
    intents,
    executor,
    keeper,
    attacker,
    alice,
    weth_like,
    usdc,
    rewards,
    alice_sells_weth,
    weth_usdc_pair,
):
    # Alice's WETH goes into the pool; its USDC comes out to the keeper's contract, whose
    # flash-swap callback claims Alice's rewards for her in the middle of the swap.
    callback = attacker.deploy(project.FlashSwapCallback)
    weth_is_token0 = int(weth_like.address, 16) < int(usdc.address, 16)
    usdc_out = 2_900 * E6  # a little under the pool's quote for 1 WETH
    out = (0, usdc_out) if weth_is_token0 else (usdc_out, 0)
    claim = encode(["address", "bytes"], [rewards.address, rewards.claim.encode_input(alice)])
    interactions = [
        call(weth_like, "transfer", weth_usdc_pair, E18),
        raw_call(
            weth_usdc_pair,
            "swap(uint256,uint256,address,bytes)",
            ["uint256", "uint256", "address", "bytes"],
            [*out, callback.address, claim],
        ),
    ]
    order = intents.order(alice_sells_weth, alice, buy_amounts=[0])

    with ape.reverts(executor.BuyBelowMinimum, token=usdc.address, received=0, minimum=MINIMUM):
        intents.settle([order], interactions, sender=keeper)
    _unharmed(alice, weth_like, usdc, rewards)
    assert usdc.balanceOf(callback) == 0


def test_a_payment_an_interaction_sends_the_owner_never_counts_toward_her_minimum(
    intents, executor, owner, keeper, alice, weth_like, usdc, alice_sells_weth
):
    allow(executor, owner, usdc, "mint(address,uint256)")
    side_payment = [call(usdc, "mint", alice, OWED), call(usdc, "mint", executor, 1)]

    with ape.reverts(executor.BuyBelowMinimum, token=usdc.address, received=1, minimum=MINIMUM):
        intents.settle(
            [intents.order(alice_sells_weth, alice, buy_amounts=[1])], side_payment, sender=keeper
        )
    assert weth_like.balanceOf(alice) == E18


def test_a_side_payment_inside_the_delivery_itself_counts_for_no_more_than_the_delivery(
    project, intents, executor, owner, keeper, attacker, alice, weth_like
):
    # Alice buys a hook token; the executor's own delivery of it runs the hook, which claims
    # rewards she is owed in that same token. Only the delivered amount may count.
    hook = attacker.deploy(project.ReentrantToken)
    rewards = owner.deploy(project.ClaimableRewards, hook)
    hook.mint(rewards, 100 * E18, sender=owner)
    rewards.accrue(alice, 100 * E18, sender=owner)
    hook.arm(rewards, rewards.claim.encode_input(alice), sender=attacker)
    intents.fund(alice, weth_like, E18)
    intent = intents.intent(alice, sells=[(weth_like, E18)], buys=[(hook, 100 * E18)])
    allow(executor, owner, hook, "mint(address,uint256)")  # a stand-in for a swap into it

    with ape.reverts(
        executor.BuyBelowMinimum, token=hook.address, received=10 * E18, minimum=100 * E18
    ):
        intents.settle(
            [intents.order(intent, alice, buy_amounts=[10 * E18])],
            [call(hook, "mint", executor, 10 * E18)],
            sender=keeper,
        )
    assert rewards.owed(alice) == 100 * E18


def test_a_side_payment_inside_a_direct_leg_counts_for_no_more_than_the_leg(
    project, intents, executor, owner, keeper, attacker, alice, weth_like
):
    # The puppet sells Alice 1 hook token by a direct leg; the pull's hook claims the 100 she
    # is owed in that token. Her buy of 100 must not count the claim.
    hook = attacker.deploy(project.ReentrantToken)
    rewards = owner.deploy(project.ClaimableRewards, hook)
    hook.mint(rewards, 100 * E18, sender=owner)
    rewards.accrue(alice, 100 * E18, sender=owner)
    intents.fund(attacker, hook, E18)
    hook.arm(rewards, rewards.claim.encode_input(alice), sender=attacker)
    intents.fund(alice, weth_like, E18)
    alice_intent = intents.intent(alice, sells=[(weth_like, E18)], buys=[(hook, 100 * E18)])
    puppet = intents.intent(attacker, sells=[(hook, E18)], buys=[(weth_like, 0)])
    orders = [
        intents.order(alice_intent, alice, buy_amounts=[0], sell_to=[(1, 0)]),
        intents.order(puppet, attacker, buy_amounts=[0], sell_to=[(0, 0)]),
    ]

    with ape.reverts(executor.BuyBelowMinimum, token=hook.address, received=E18, minimum=100 * E18):
        intents.settle(orders, sender=keeper)
    assert rewards.owed(alice) == 100 * E18
