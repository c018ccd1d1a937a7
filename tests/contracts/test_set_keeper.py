"""setKeeper / isKeeper: only the owner manages the keeper allow-list."""

from __future__ import annotations

import ape

from keeper.intents.types import ZERO_ADDRESS


def test_owner_adds_and_removes_a_keeper_with_events(executor, owner, bob):
    receipt = executor.setKeeper(bob, True, sender=owner)
    assert executor.isKeeper(bob)
    assert [(e.keeper, e.allowed) for e in receipt.decode_logs(executor.KeeperSet)] == [
        (bob.address, True)
    ]

    executor.setKeeper(bob, False, sender=owner)
    assert not executor.isKeeper(bob)


def test_a_removed_keeper_can_no_longer_settle(intents, executor, owner, keeper):
    executor.setKeeper(keeper, False, sender=owner)

    with ape.reverts(executor.NotKeeper, caller=keeper.address):
        intents.settle([], sender=keeper)


def test_only_the_owner_manages_keepers(executor, attacker):
    with ape.reverts(executor.OwnableUnauthorizedAccount, account=attacker.address):
        executor.setKeeper(attacker, True, sender=attacker)


def test_the_zero_address_cannot_be_a_keeper(executor, owner):
    with ape.reverts(executor.ZeroAddress):
        executor.setKeeper(ZERO_ADDRESS, True, sender=owner)
