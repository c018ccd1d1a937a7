"""setCall / isAllowedCall / isEntryPoint: only the owner manages the interaction allow-list of
(target, selector) pairs."""

from __future__ import annotations

import ape

from keeper.intents.types import ZERO_ADDRESS
from tests.contracts.helpers import MINT, ROUTED_TOKEN, call, selector


def test_owner_allows_and_disallows_a_call_with_events(intents, executor, owner, keeper, usdc):
    receipt = executor.setCall(usdc, selector(MINT), True, sender=owner)
    assert executor.isAllowedCall(usdc, selector(MINT))
    assert [
        (e.target, bytes(e.selector), e.allowed) for e in receipt.decode_logs(executor.CallSet)
    ] == [(usdc.address, selector(MINT), True)]
    intents.settle([], [call(usdc, "mint", keeper, 1)], sender=keeper)

    executor.setCall(usdc, selector(MINT), False, sender=owner)
    assert not executor.isAllowedCall(usdc, selector(MINT))
    with ape.reverts(executor.CallNotAllowed, target=usdc.address, selector=selector(MINT)):
        intents.settle([], [call(usdc, "mint", keeper, 1)], sender=keeper)


def test_a_call_allowed_on_one_target_is_not_allowed_on_another(
    intents, executor, owner, keeper, usdc, weth_like
):
    executor.setCall(usdc, selector(MINT), True, sender=owner)

    with ape.reverts(executor.CallNotAllowed, target=weth_like.address, selector=selector(MINT)):
        intents.settle([], [call(weth_like, "mint", keeper, 1)], sender=keeper)


def test_a_target_is_an_entry_point_while_it_has_a_selector_other_than_approve_or_transfer(
    executor, owner, usdc
):
    for signature in ROUTED_TOKEN:
        executor.setCall(usdc, selector(signature), True, sender=owner)
    assert not executor.isEntryPoint(usdc)

    executor.setCall(usdc, selector(MINT), True, sender=owner)
    executor.setCall(usdc, selector(MINT), True, sender=owner)  # twice: still counted once
    assert executor.isEntryPoint(usdc)

    executor.setCall(usdc, selector(MINT), False, sender=owner)
    assert not executor.isEntryPoint(usdc)


def test_only_the_owner_manages_calls(executor, attacker, usdc):
    with ape.reverts(executor.OwnableUnauthorizedAccount, account=attacker.address):
        executor.setCall(usdc, selector(MINT), True, sender=attacker)


def test_the_zero_address_cannot_be_a_target(executor, owner):
    with ape.reverts(executor.ZeroAddress):
        executor.setCall(ZERO_ADDRESS, selector(MINT), True, sender=owner)
