"""The inclusion tracker on a real anvil behind the local relay, when a block arrives in the
middle of a poll (the chain does not wait for the tracker)."""

from __future__ import annotations

import pytest

from keeper.relay import Bundle
from keeper.relay.tracker import InclusionTracker
from tests.integration.test_relay_local import relay_chain


@pytest.fixture
def chain():
    with relay_chain() as made:
        yield made


class BlockDuringPoll(InclusionTracker):
    """Reads receipts from the chain; the relay builds its next block right after the first
    read of a poll (as a block can arrive at any moment while a poll runs)."""

    def __init__(self, *args, relay, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.relay, self.armed = relay, False

    def receipt(self, tx_hash: str):
        answer = super().receipt(tx_hash)
        if self.armed:
            self.armed = False
            self.relay.mine_block()
        return answer


def test_a_bundle_that_lands_while_the_tracker_polls_is_reported_included(chain):
    a = chain.accounts[1]
    bundle = Bundle.of([chain.transfer(a)])
    tracker = BlockDuringPoll(chain.client, chain.w3, relay=chain.relay)
    pending = tracker.submit(bundle, max_blocks=3)
    target = chain.head() + 1
    tracker.armed = True  # the target block is built while this poll runs
    report = pending.poll()
    while report is None:
        report = pending.poll()
        if chain.head() > target + 3:
            break
    assert chain.receipt(bundle.tx_hashes[0]) is not None  # it did land, in its target block
    assert report is not None and report.included, report
    assert report.block_number == target


def test_a_two_tx_bundle_that_lands_between_its_receipt_reads_is_not_called_partial(chain):
    a, b = chain.accounts[1:3]
    bundle = Bundle.of([chain.transfer(a), chain.transfer(b)])
    tracker = BlockDuringPoll(chain.client, chain.w3, relay=chain.relay)
    pending = tracker.submit(bundle, max_blocks=3)
    target = chain.head() + 1
    tracker.armed = True  # built after the first receipt (None), before the second
    report = pending.poll()
    while report is None and chain.head() <= target + 3:
        report = pending.poll()
    assert report is not None and report.included, report
    assert report.block_number == target
