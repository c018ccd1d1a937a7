"""AllowanceVault.lockdown: revoke everything (allowances and unsent permits) in one call."""

from __future__ import annotations

import ape

from keeper.intents.signing import sign_permit
from keeper.intents.types import AllowancePermit

E18 = 10**18


def test_lockdown_zeroes_every_listed_allowance_and_blocks_settlement(
    intents, executor, vault, keeper, alice, weth_like, usdc
):
    intents.fund(alice, weth_like, E18)
    intents.fund(alice, usdc, 10**9)

    receipt = vault.lockdown([weth_like, usdc], sender=alice)

    assert vault.allowance(alice, weth_like).amount == 0
    assert vault.allowance(alice, usdc).amount == 0
    assert [e.token for e in receipt.decode_logs(vault.Lockdown)] == [
        weth_like.address,
        usdc.address,
    ]
    intent = intents.intent(alice, sells=[(weth_like, E18)])
    with ape.reverts(executor.AllowanceExceeded):
        intents.settle([intents.order(intent, alice)], sender=keeper)


def test_lockdown_kills_permits_signed_before_it(
    intents, vault, keeper, alice, weth_like, chain_id
):
    permit = AllowancePermit(
        owner=alice.address,
        token=weth_like.address,
        amount=E18,
        expiration=2**40,
        nonce=0,
        deadline=intents.now() + 600,
    )
    signature = sign_permit(permit, alice, chain_id, vault.address)

    vault.lockdown([weth_like], sender=alice)

    with ape.reverts(vault.InvalidPermitNonce, expected=1, given=0):
        vault.permit(permit.as_abi(), signature, sender=keeper)


def test_lockdown_touches_only_the_callers_allowances(intents, vault, alice, bob, weth_like):
    intents.fund(bob, weth_like, E18, allowance=E18)

    vault.lockdown([weth_like], sender=alice)

    assert vault.allowance(bob, weth_like).amount == E18
