"""transferOwnership / acceptOwnership: two-step ownership of the executor."""

from __future__ import annotations

import ape


def test_ownership_moves_only_when_the_new_owner_accepts(executor, owner, bob):
    executor.transferOwnership(bob, sender=owner)
    assert executor.owner() == owner.address
    assert executor.pendingOwner() == bob.address

    executor.acceptOwnership(sender=bob)
    assert executor.owner() == bob.address
    executor.setKeeper(bob, True, sender=bob)
    with ape.reverts(executor.OwnableUnauthorizedAccount, account=owner.address):
        executor.setKeeper(owner, True, sender=owner)


def test_nobody_but_the_pending_owner_can_accept(executor, owner, bob, attacker):
    executor.transferOwnership(bob, sender=owner)

    with ape.reverts(executor.OwnableUnauthorizedAccount, account=attacker.address):
        executor.acceptOwnership(sender=attacker)


def test_ownership_cannot_be_renounced_so_keepers_can_always_be_removed(executor, owner, attacker):
    with ape.reverts(executor.RenounceDisabled):
        executor.renounceOwnership(sender=owner)
    with ape.reverts(executor.OwnableUnauthorizedAccount, account=attacker.address):
        executor.renounceOwnership(sender=attacker)

    assert executor.owner() == owner.address
