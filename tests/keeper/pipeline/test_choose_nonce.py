"""`keeper intent sign` picks the lowest nonce that is free on-chain and at the keeper."""

from __future__ import annotations

import pytest

from keeper.exceptions import KeeperError
from keeper.intents.cli import choose_nonce


def test_fills_the_first_word_skipping_spent_and_pending_nonces(executor, alice, chain):
    web3 = chain.provider.web3
    assert choose_nonce(web3, executor.address, alice.address, set()) == 0

    executor.invalidateNonces(0, 0b1011, sender=alice)  # nonces 0, 1 and 3 spent on-chain

    assert choose_nonce(web3, executor.address, alice.address, set()) == 2
    assert choose_nonce(web3, executor.address, alice.address, {2}) == 4


def test_moves_to_the_next_word_only_when_the_first_is_full(executor, alice, chain):
    web3 = chain.provider.web3
    executor.invalidateNonces(0, 2**256 - 1, sender=alice)

    assert choose_nonce(web3, executor.address, alice.address, set()) == 256
    with pytest.raises(KeeperError, match="--nonce"):
        choose_nonce(web3, executor.address, alice.address, set(), max_words=1)
