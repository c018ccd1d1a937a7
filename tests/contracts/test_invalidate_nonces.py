"""invalidateNonces / nonceBitmap / isNonceUsed: the owner cancels outstanding intents."""

from __future__ import annotations

import ape

from keeper.intents.types import next_free_nonce


def test_cancels_exactly_the_nonces_in_the_mask(executor, alice):
    receipt = executor.invalidateNonces(3, (1 << 0) | (1 << 255), sender=alice)

    assert executor.nonceBitmap(alice, 3) == (1 << 0) | (1 << 255)
    assert executor.isNonceUsed(alice, 3 * 256)
    assert executor.isNonceUsed(alice, 3 * 256 + 255)
    assert not executor.isNonceUsed(alice, 3 * 256 + 1)
    assert not executor.isNonceUsed(alice, 0)
    [event] = receipt.decode_logs(executor.NoncesInvalidated)
    assert (event.owner, event.word, event.mask) == (alice.address, 3, (1 << 0) | (1 << 255))


def test_only_touches_the_callers_own_nonces(executor, alice, bob):
    executor.invalidateNonces(0, 2**256 - 1, sender=alice)

    assert executor.nonceBitmap(bob, 0) == 0
    assert executor.nonceBitmap(alice, 0) == 2**256 - 1


def test_is_idempotent_and_never_revives_a_nonce(executor, alice):
    executor.invalidateNonces(0, 0b101, sender=alice)
    executor.invalidateNonces(0, 0b001, sender=alice)

    assert executor.nonceBitmap(alice, 0) == 0b101


def test_a_cancelled_nonce_cannot_settle(intents, executor, keeper, alice, weth_like):
    intents.fund(alice, weth_like, 10)
    intent = intents.intent(alice, sells=[(weth_like, 10)], nonce=300)
    executor.invalidateNonces(1, 1 << 44, sender=alice)

    with ape.reverts(executor.NonceAlreadyUsed, owner=alice.address, nonce=300):
        intents.settle([intents.order(intent, alice)], sender=keeper)


def test_the_next_free_nonce_skips_settled_and_cancelled_ones(
    intents, executor, keeper, alice, weth_like
):
    intents.fund(alice, weth_like, 10)
    intents.settle(
        [intents.order(intents.intent(alice, sells=[(weth_like, 10)]), alice)], sender=keeper
    )
    executor.invalidateNonces(0, 0b10, sender=alice)

    nonce = next_free_nonce(executor.nonceBitmap(alice, 0))

    assert nonce == 2
    assert not executor.isNonceUsed(alice, nonce)
