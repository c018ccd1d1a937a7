"""settle under attack: interactions reaching for approvals, reentrancy, malleable and empty
signatures, contract wallets that say yes or no."""

from __future__ import annotations

import ape
import pytest
from eth_account import Account
from eth_utils import keccak

from keeper.intents.signing import SECP256K1_N, intent_digest
from keeper.intents.types import ZERO_ADDRESS, Execution, Order, RebalanceIntent, TokenAmount
from keeper.settlement.abi import encode_orders
from tests.contracts.helpers import MAX_UINT256, MINT, ROUTED_TOKEN, allow, call, selector

E18 = 10**18
TRANSFER_FROM = bytes.fromhex("23b872dd")


@pytest.fixture
def funded_alice(intents, alice, weth_like):
    intents.fund(alice, weth_like, 5 * E18)
    return alice


def test_an_interaction_cannot_call_transfer_from_to_move_a_users_tokens(
    intents, executor, owner, keeper, funded_alice, weth_like
):
    # Even if Alice had (wrongly) approved the executor itself, a routed token's transferFrom
    # is not on the allow-list (test_settle_interaction_bypasses.py has its look-alikes).
    weth_like.approve(executor, MAX_UINT256, sender=funded_alice)
    allow(executor, owner, weth_like, *ROUTED_TOKEN)
    steal = call(weth_like, "transferFrom", funded_alice, keeper, 5 * E18)

    with ape.reverts(executor.CallNotAllowed, target=weth_like.address, selector=TRANSFER_FROM):
        intents.settle([], [steal], sender=keeper)
    assert weth_like.balanceOf(funded_alice) == 5 * E18


def test_an_interaction_cannot_target_the_vault(
    intents, executor, vault, keeper, funded_alice, weth_like
):
    steal = call(vault, "pull", funded_alice, weth_like, 5 * E18, keeper)

    # Never allow-listable (below), so never on the allow-list.
    with ape.reverts(
        executor.CallNotAllowed,
        target=vault.address,
        selector=selector("pull(address,address,uint256,address)"),
    ):
        intents.settle([], [steal], sender=keeper)
    assert weth_like.balanceOf(funded_alice) == 5 * E18


def test_an_interaction_cannot_target_the_executor(intents, executor, keeper):
    reenter = call(executor, "settle", encode_orders([]), [])

    with ape.reverts(
        executor.CallNotAllowed,
        target=executor.address,
        selector=selector("settle(bytes,(address,uint256,bytes)[])"),
    ):
        intents.settle([], [reenter], sender=keeper)


@pytest.mark.parametrize("which", ["executor", "vault"])
def test_the_owner_cannot_allow_list_the_executor_or_the_vault(executor, vault, owner, which):
    target = {"executor": executor, "vault": vault}[which]

    with ape.reverts(executor.ForbiddenTarget, target=target.address):
        executor.setCall(target, selector(MINT), True, sender=owner)


def test_an_allow_listed_contract_cannot_pull_from_the_vault_on_the_executors_behalf(
    project, intents, executor, vault, owner, keeper, funded_alice, weth_like
):
    forwarder = owner.deploy(project.CallForwarder)
    allow(executor, owner, forwarder, "forward(address,bytes)")
    inner = vault.pull.encode_input(funded_alice, weth_like, 5 * E18, forwarder)
    steal = call(forwarder, "forward", vault, inner)

    with ape.reverts(executor.InteractionFailed, index=0, target=forwarder.address) as info:
        intents.settle([], [steal], sender=keeper)
    # The vault saw the forwarder, not the executor: NotExecutor(forwarder), wrapped twice.
    reason = bytes(info.value.inputs["reason"])
    assert reason[:4] == keccak(text="ForwardFailed(bytes)")[:4]
    assert keccak(text="NotExecutor(address)")[:4] in reason
    assert weth_like.balanceOf(funded_alice) == 5 * E18
    with ape.reverts(vault.NotExecutor, caller=keeper.address):
        vault.pull(funded_alice, weth_like, 5 * E18, keeper, sender=keeper)


def test_a_reentrant_token_cannot_reenter_settle(
    project, intents, executor, owner, keeper, alice, bob
):
    token = owner.deploy(project.ReentrantToken)
    executor.setKeeper(token, True, sender=owner)  # worst case: even an allow-listed caller
    intents.fund(alice, token, E18)
    intents.fund(bob, token, E18)
    token.arm(executor, executor.settle.encode_input(encode_orders([]), []), sender=owner)
    intent = intents.intent(alice, sells=[(token, E18)], buys=[])

    with ape.reverts(token.HookFailed):
        intents.settle([intents.order(intent, alice)], sender=keeper)
    assert token.balanceOf(alice) == E18
    # Disarmed, the same order settles: the revert above came from the reentry alone.
    token.arm(ZERO_ADDRESS, b"", sender=owner)
    intents.settle([intents.order(intent, alice)], sender=keeper)
    assert token.balanceOf(alice) == 0


def test_a_reentrant_token_cannot_pull_from_the_vault_mid_settlement(
    project, intents, executor, vault, owner, keeper, alice, bob
):
    token = owner.deploy(project.ReentrantToken)
    intents.fund(alice, token, E18)
    intents.fund(bob, token, 5 * E18)
    token.arm(vault, vault.pull.encode_input(bob, token, 5 * E18, owner), sender=owner)
    intent = intents.intent(alice, sells=[(token, E18)], buys=[])

    with ape.reverts(token.HookFailed):
        intents.settle([intents.order(intent, alice)], sender=keeper)
    assert token.balanceOf(bob) == 5 * E18


def test_rejects_the_high_s_twin_of_a_valid_signature(
    intents, executor, keeper, funded_alice, weth_like, chain_id
):
    intent = intents.intent(funded_alice, sells=[(weth_like, E18)], buys=[])
    good = intents.sign(intent, funded_alice)
    r, s, v = good[:32], int.from_bytes(good[32:64], "big"), good[64]
    twin = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])
    # The twin is a valid secp256k1 signature by Alice of the same digest ...
    digest = intent_digest(intent, chain_id)
    assert Account._recover_hash(digest, signature=twin) == funded_alice.address

    # ... but malleable, so the executor refuses it.
    with ape.reverts(executor.InvalidSignature, owner=funded_alice.address):
        intents.settle([intents.order(intent, signature=twin)], sender=keeper)
    intents.settle([intents.order(intent, signature=good)], sender=keeper)


def test_rejects_an_intent_for_the_zero_address_with_a_signature_recovering_to_zero(
    intents, executor, keeper, weth_like
):
    intent = RebalanceIntent.model_construct(
        owner=ZERO_ADDRESS,
        executor=executor.address,
        keeper=ZERO_ADDRESS,
        nonce=0,
        valid_after=0,
        deadline=intents.now() + 600,
        sells=(TokenAmount(token=weth_like.address, amount=1),),
        buys=(),
        fee_token=ZERO_ADDRESS,
        max_fee=0,
    )
    # r = s = 0: ecrecover returns address(0) for it.
    empty = bytes(64) + bytes([27])
    order = Order.model_construct(
        intent=intent,
        signature=empty,
        execution=Execution(sell_amounts=[1], buy_amounts=[]),
    )

    with ape.reverts(executor.InvalidSignature, owner=ZERO_ADDRESS):
        intents.settle([order], sender=keeper)


def test_rejects_a_signature_of_the_wrong_length(
    intents, executor, keeper, funded_alice, weth_like
):
    intent = intents.intent(funded_alice, sells=[(weth_like, E18)], buys=[])
    short = intents.sign(intent, funded_alice)[:64]

    with ape.reverts(executor.InvalidSignature, owner=funded_alice.address):
        intents.settle([intents.order(intent, signature=short)], sender=keeper)


@pytest.fixture
def wallet(project, intents, owner, vault, alice, weth_like):
    """An ERC-1271 contract wallet owned by Alice, holding WETH approved to the vault."""
    wallet = owner.deploy(project.TestSmartWallet, alice)
    weth_like.mint(wallet, 2 * E18, sender=owner)
    wallet.execute(weth_like, weth_like.approve.encode_input(vault, MAX_UINT256), sender=alice)
    wallet.execute(vault, vault.approve.encode_input(weth_like, E18, 2**40), sender=alice)
    return wallet


def _wallet_order(intents, wallet, alice, weth_like, chain_id):
    intent = RebalanceIntent(
        owner=wallet.address,
        executor=intents.executor.address,
        nonce=7,
        deadline=intents.now() + 600,
        sells=[TokenAmount(token=weth_like.address, amount=E18)],
    )
    signature = alice.sign_raw_msghash(intent_digest(intent, chain_id)).encode_rsv()
    return intents.order(intent, signature=signature)


def test_an_erc1271_wallet_that_says_yes_can_settle(
    intents, executor, keeper, wallet, alice, weth_like, chain_id
):
    intents.settle([_wallet_order(intents, wallet, alice, weth_like, chain_id)], sender=keeper)

    assert weth_like.balanceOf(wallet) == E18
    assert executor.isNonceUsed(wallet, 7)


def test_an_erc1271_wallet_that_says_no_cannot_settle(
    intents, executor, keeper, wallet, alice, weth_like, chain_id
):
    wallet.setAccepting(False, sender=alice)

    with ape.reverts(executor.InvalidSignature, owner=wallet.address):
        intents.settle([_wallet_order(intents, wallet, alice, weth_like, chain_id)], sender=keeper)
    assert weth_like.balanceOf(wallet) == 2 * E18
