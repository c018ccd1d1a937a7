"""setTarget / isAllowedTarget: only the owner manages interaction targets."""

from __future__ import annotations

import ape

from keeper.intents.types import ZERO_ADDRESS
from tests.contracts.helpers import call


def test_owner_allows_and_disallows_a_target_with_events(intents, executor, owner, keeper, usdc):
    receipt = executor.setTarget(usdc, True, sender=owner)
    assert executor.isAllowedTarget(usdc)
    assert [(e.target, e.allowed) for e in receipt.decode_logs(executor.TargetSet)] == [
        (usdc.address, True)
    ]
    intents.settle([], [call(usdc, "mint", keeper, 1)], sender=keeper)

    executor.setTarget(usdc, False, sender=owner)
    with ape.reverts(executor.TargetNotAllowed, target=usdc.address):
        intents.settle([], [call(usdc, "mint", keeper, 1)], sender=keeper)


def test_only_the_owner_manages_targets(executor, attacker, usdc):
    with ape.reverts(executor.OwnableUnauthorizedAccount, account=attacker.address):
        executor.setTarget(usdc, True, sender=attacker)


def test_the_zero_address_cannot_be_a_target(executor, owner):
    with ape.reverts(executor.ZeroAddress):
        executor.setTarget(ZERO_ADDRESS, True, sender=owner)
