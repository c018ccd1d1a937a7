"""pause / unpause: the guardian (or owner) stops settlement; only the owner resumes it."""

from __future__ import annotations

import ape


def test_guardian_pauses_and_owner_unpauses(intents, executor, owner, guardian, keeper):
    executor.pause(sender=guardian)
    assert executor.paused()
    with ape.reverts(executor.EnforcedPause):
        intents.settle([], sender=keeper)

    executor.unpause(sender=owner)
    assert not executor.paused()
    intents.settle([], sender=keeper)


def test_owner_can_pause_too(executor, owner):
    executor.pause(sender=owner)
    assert executor.paused()


def test_nobody_else_can_pause(executor, keeper, attacker):
    for account in (keeper, attacker):
        with ape.reverts(executor.NotGuardian, caller=account.address):
            executor.pause(sender=account)


def test_the_guardian_cannot_unpause(executor, guardian):
    executor.pause(sender=guardian)
    with ape.reverts(executor.OwnableUnauthorizedAccount, account=guardian.address):
        executor.unpause(sender=guardian)


def test_users_can_still_cancel_nonces_and_lock_down_while_paused(
    executor, vault, guardian, alice, weth_like
):
    executor.pause(sender=guardian)

    executor.invalidateNonces(0, 1, sender=alice)
    vault.lockdown([weth_like], sender=alice)
    assert executor.isNonceUsed(alice, 0)
