"""settle: the argument rules of the allow-listed selectors that have them. ERC-20 ``approve`` and
``transfer`` may name only an entry point (a target with another allowed selector), and an
approval must be spent by the end of the interactions; ERC-4626 ``withdraw``/``redeem`` may only
spend the executor's own shares. Functions that spend an allowance granted to the executor
under other names are simply not on the allow-list (test_settle_interaction_bypasses.py)."""

from __future__ import annotations

import ape
import pytest
from eth_utils import keccak

from keeper.intents.types import Interaction
from tests.contracts.helpers import MAX_UINT160, MAX_UINT256, ROUTED_TOKEN, allow, call

E6 = 10**6
DEPOSIT = "deposit(uint256,address)"
REDEEM = "redeem(uint256,address,address)"
WITHDRAW = "withdraw(uint256,address,address)"


@pytest.fixture
def surplus(owner, executor, usdc):
    """1,000 USDC at rest in the executor (a batch's leftover surplus), USDC a routed token."""
    usdc.mint(executor, 1_000 * E6, sender=owner)
    allow(executor, owner, usdc, *ROUTED_TOKEN)
    return 1_000 * E6


@pytest.mark.parametrize("method", ["approve", "transfer"])
def test_an_interaction_cannot_approve_or_pay_an_address_that_is_not_an_entry_point(
    intents, executor, keeper, attacker, usdc, surplus, method
):
    # An allowance would let the spender take the executor's tokens after the batch, even after
    # the owner removed the keeper that granted it; a transfer would simply hand them over.
    with ape.reverts(executor.SpenderNotAllowed, target=usdc.address, spender=attacker.address):
        intents.settle([], [call(usdc, method, attacker, surplus)], sender=keeper)

    assert usdc.allowance(executor, attacker) == 0
    assert usdc.balanceOf(executor) == surplus


@pytest.fixture
def forwarder(project, owner, executor):
    """An entry point (its ``forward`` allow-listed) that can spend an allowance."""
    contract = owner.deploy(project.CallForwarder)
    allow(executor, owner, contract, "forward(address,bytes)")
    return contract


def test_an_interaction_may_approve_an_entry_point_for_what_the_batch_then_spends(
    intents, executor, keeper, alice, usdc, surplus, forwarder
):
    # What the batch brought in (Alice's 500 USDC, sold for nothing) may go out through an
    # approval; the 1,000 resting in the executor may not (the no-deficit check covers USDC).
    intents.fund(alice, usdc, 500 * E6)
    order = intents.order(intents.intent(alice, sells=[(usdc, 500 * E6)]), alice)

    def spend(amount):
        data = usdc.transferFrom.encode_input(executor, forwarder, amount)
        return [call(usdc, "approve", forwarder, amount), call(forwarder, "forward", usdc, data)]

    with ape.reverts(executor.TokenDeficit, token=usdc.address):
        intents.settle([order], spend(surplus + 500 * E6), sender=keeper)
    intents.settle([order], spend(500 * E6), sender=keeper)

    assert usdc.allowance(executor, forwarder) == 0
    assert usdc.balanceOf(forwarder) == 500 * E6
    assert usdc.balanceOf(executor) == surplus


def test_an_approval_left_unspent_at_the_end_of_the_interactions_reverts_the_batch(
    intents, executor, keeper, usdc, surplus, forwarder
):
    spend = usdc.transferFrom.encode_input(executor, forwarder, surplus - 1)
    interactions = [
        call(usdc, "approve", forwarder, surplus),
        call(forwarder, "forward", usdc, spend),
    ]

    with ape.reverts(
        executor.ApprovalOutlivesBatch, token=usdc.address, spender=forwarder.address, remaining=1
    ):
        intents.settle([], interactions, sender=keeper)
    assert usdc.allowance(executor, forwarder) == 0


@pytest.fixture
def shares(project, owner, executor, alice, usdc):
    """An ERC-4626 vault over USDC, allow-listed for deposit, withdraw and redeem, in which
    Alice holds 1,000 USDC of shares."""
    yield_vault = owner.deploy(project.ERC4626Vault, usdc, "vUSDC", "vUSDC")
    usdc.mint(alice, 1_000 * E6, sender=alice)
    usdc.approve(yield_vault, 1_000 * E6, sender=alice)
    yield_vault.deposit(1_000 * E6, alice, sender=alice)
    allow(executor, owner, yield_vault, DEPOSIT, WITHDRAW, REDEEM)
    return yield_vault


@pytest.mark.parametrize("method", ["redeem", "withdraw"])
def test_an_interaction_cannot_spend_erc4626_shares_a_user_wrongly_approved_to_the_executor(
    intents, executor, keeper, alice, usdc, shares, method
):
    # ERC-4626 withdraw/redeem(amount, receiver, owner) spend the owner's share allowance to the
    # caller, like transferFrom does: with the executor as caller, Alice's mistaken approval.
    shares.approve(executor, MAX_UINT256, sender=alice)
    held = shares.balanceOf(alice)
    steal = call(shares, method, held if method == "redeem" else 1_000 * E6, keeper, alice)

    with ape.reverts(
        executor.ForbiddenSelector,
        target=shares.address,
        selector=keccak(text=f"{method}(uint256,address,address)")[:4],
    ):
        intents.settle([], [steal], sender=keeper)

    assert shares.balanceOf(alice) == held
    assert usdc.balanceOf(keeper) == 0


def test_a_user_may_buy_and_sell_erc4626_shares_through_an_allow_listed_vault(
    intents, executor, vault, keeper, bob, usdc, surplus, shares
):
    # Bob sells 500 USDC for vault shares: the executor deposits what it pulled ...
    intents.fund(bob, usdc, 500 * E6)
    minted = shares.previewDeposit(500 * E6)
    buy = intents.intent(bob, sells=[(usdc, 500 * E6)], buys=[(shares, minted)], nonce=0)
    deposit = [
        call(usdc, "approve", shares, 500 * E6),
        call(shares, "deposit", 500 * E6, executor),
    ]
    intents.settle([intents.order(buy, bob)], deposit, sender=keeper)
    assert shares.balanceOf(bob) == minted

    # ... and sells them back: the executor redeems the shares it pulled, never others.
    shares.approve(vault, MAX_UINT256, sender=bob)
    vault.approve(shares, MAX_UINT160, 2**40, sender=bob)
    sell = intents.intent(bob, sells=[(shares, minted)], buys=[(usdc, 500 * E6)], nonce=1)
    redeem = [call(shares, "redeem", minted, executor, executor)]
    intents.settle([intents.order(sell, bob)], redeem, sender=keeper)

    assert (shares.balanceOf(bob), usdc.balanceOf(bob)) == (0, 500 * E6)
    assert usdc.balanceOf(executor) == surplus


def test_calldata_shorter_than_a_selector_is_checked_as_selector_zero(
    intents, executor, keeper, usdc, surplus
):
    with ape.reverts(executor.CallNotAllowed, target=usdc.address, selector=b"\x00" * 4):
        intents.settle([], [Interaction(target=usdc.address, call_data=b"\x01")], sender=keeper)
