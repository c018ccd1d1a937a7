"""AllowanceVault.approve / allowance: a user sets a per-token allowance and expiry."""

from __future__ import annotations

import ape

from keeper.intents.signing import sign_permit
from keeper.intents.types import AllowancePermit
from tests.contracts.helpers import MAX_UINT160

E18 = 10**18


def test_sets_amount_and_expiry_for_the_caller_only(vault, alice, bob, weth_like):
    receipt = vault.approve(weth_like, 5 * E18, 1_900_000_000, sender=alice)

    # The permit nonce moves on with every approve (see the permit tests below).
    assert tuple(vault.allowance(alice, weth_like)) == (5 * E18, 1_900_000_000, 1)
    assert tuple(vault.allowance(bob, weth_like)) == (0, 0, 0)
    [event] = receipt.decode_logs(vault.AllowanceSet)
    assert (event.owner, event.token, event.amount, event.expiration, event.nonce) == (
        alice.address,
        weth_like.address,
        5 * E18,
        1_900_000_000,
        1,
    )


def test_settlements_spend_a_finite_allowance_down(intents, vault, keeper, alice, weth_like):
    intents.fund(alice, weth_like, 3 * E18, allowance=2 * E18)
    intent = intents.intent(alice, sells=[(weth_like, E18)])
    intents.settle([intents.order(intent, alice, sell_amounts=[E18 // 4])], sender=keeper)

    assert vault.allowance(alice, weth_like).amount == 2 * E18 - E18 // 4


def test_an_unlimited_allowance_is_never_spent_down(intents, vault, keeper, alice, weth_like):
    intents.fund(alice, weth_like, E18, allowance=MAX_UINT160)
    intent = intents.intent(alice, sells=[(weth_like, E18)])
    intents.settle([intents.order(intent, alice)], sender=keeper)

    assert vault.allowance(alice, weth_like).amount == MAX_UINT160


def test_lowering_the_allowance_takes_effect_at_once(
    intents, executor, vault, keeper, alice, weth_like
):
    intents.fund(alice, weth_like, E18)
    vault.approve(weth_like, 0, 2**40, sender=alice)
    intent = intents.intent(alice, sells=[(weth_like, E18)])

    with ape.reverts(executor.AllowanceExceeded):
        intents.settle([intents.order(intent, alice)], sender=keeper)


def _permit(intents, alice, token, nonce: int = 0) -> AllowancePermit:
    return AllowancePermit(
        owner=alice.address,
        token=token.address,
        amount=3 * E18,
        expiration=2**40,
        nonce=nonce,
        deadline=intents.now() + 600,
    )


def test_revoking_an_allowance_kills_a_permit_signed_before_it(
    intents, vault, keeper, alice, weth_like, chain_id
):
    # Alice signed a permit for gasless onboarding, then changed her mind before it was sent.
    permit = _permit(intents, alice, weth_like)
    signature = sign_permit(permit, alice, chain_id, vault.address)

    vault.approve(weth_like, 0, 0, sender=alice)

    with ape.reverts(
        vault.InvalidPermitNonce, owner=alice.address, token=weth_like.address, expected=1, given=0
    ):
        vault.permit(permit.as_abi(), signature, sender=keeper)
    assert vault.allowance(alice, weth_like).amount == 0


def test_a_direct_approve_supersedes_a_permit_signed_before_it(
    intents, vault, keeper, alice, weth_like, chain_id
):
    # The latest word wins: an older permit cannot overwrite an allowance set after it.
    permit = _permit(intents, alice, weth_like)
    signature = sign_permit(permit, alice, chain_id, vault.address)

    vault.approve(weth_like, E18, 2**40, sender=alice)

    with ape.reverts(vault.InvalidPermitNonce, expected=1, given=0):
        vault.permit(permit.as_abi(), signature, sender=keeper)
    assert vault.allowance(alice, weth_like).amount == E18
