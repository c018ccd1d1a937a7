"""Edges of the keeper's per-block cycle on a real anvil behind the local relay: intents that
reach their deadline as a batch goes out, and what one such intent does to the rest."""

from __future__ import annotations

import time

import pytest

from keeper.localstack import KEEPER_SIGNER, local_stack, quote, signed_intent

pytestmark = [pytest.mark.fork, pytest.mark.slow]

PORTFOLIOS = {"alice": {"WETH": 10}, "bob": {"WETH": 10}}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with local_stack(tmp_path_factory.mktemp("edges"), PORTFOLIOS, block_time=None) as s:
        yield s


def _parts(stack, data_dir, **overrides):
    from keeper.config import load_settings
    from keeper.daemon import build

    settings = load_settings(
        data_dir=data_dir,
        rpc_url=stack.anvil.url,
        signer=KEEPER_SIGNER,
        keeper_id="edges",
        relay={"urls": [stack.relay.url], "target_blocks": 3},
        intake={"enabled": False},
        metrics={"enabled": False},
        **overrides,
    )
    return build(settings, stack.deployments_file)


def _weth_for_usdc(stack, user, nonce: int, ttl: int) -> dict:
    units = stack.market.token("WETH").units(1)
    minimum = quote(stack, "WETH", units, "USDC") * 95 // 100
    return signed_intent(stack, user, {"WETH": 1}, {"USDC": minimum}, nonce=nonce, ttl=ttl)


def test_an_intent_that_expires_before_the_next_block_does_not_hold_back_the_batch(stack, tmp_path):
    """Bob's intent is still valid at the head (deadline = head time + 1) but not in any block
    the bundle can land in. It must not make the relay's simulation of the batch revert: Alice's
    intent goes out in this cycle and settles, Bob's expires, and nothing counts as a failure."""
    alice, bob = stack.users
    parts = _parts(stack, tmp_path / "k", limits={"min_time_to_deadline_s": 1})
    pipeline = parts.pipeline
    stack.relay.mine_block()
    head = pipeline.chain.head()
    fine = parts.intake.submit(_weth_for_usdc(stack, alice, nonce=1, ttl=600))[0].id
    doomed = parts.intake.submit(_weth_for_usdc(stack, bob, nonce=1, ttl=1))[0].id
    assert parts.store.get(doomed).deadline == head.timestamp + 1
    # the next block (built at the wall clock) is at least 2 s after the head
    while time.time() < head.timestamp + 3:
        time.sleep(0.1)
    report = pipeline.run_block(pipeline.chain.head())
    assert pipeline.breaker.recent_failures == 0, report.notes
    assert report.submitted == 1, (report.notes, parts.store.history(fine))
    stack.relay.mine_block()
    stack.relay.mine_block()  # one confirmation
    pipeline.run_block(pipeline.chain.head())
    assert parts.store.get(fine).state.value == "settled", parts.store.history(fine)
    assert parts.store.get(doomed).state.value == "expired", parts.store.history(doomed)
    assert parts.store.get(fine).attempts == 0
    assert pipeline.breaker.recent_failures == 0
    pipeline.close()
    parts.store.close()


def test_two_intents_of_one_owner_that_together_sell_more_than_she_holds_settle_one(
    stack, tmp_path
):
    """Each intent passes intake and checkOrder on its own (the balance covers either), but
    not both in one settlement. The one that fits settles; the other is not failed for it."""
    from keeper.market.funding import balance_of

    alice = stack.users[0]
    weth = stack.market.token("WETH")
    held = balance_of(stack.w3, weth.address, alice.address)
    parts = _parts(stack, tmp_path / "k")
    pipeline = parts.pipeline
    amount = held * 6 // 10 / 10**18  # whole tokens: 60% of the balance each
    units = weth.units(amount)
    minimum = quote(stack, "WETH", units, "USDC") * 95 // 100
    ids = [
        parts.intake.submit(
            signed_intent(stack, alice, {"WETH": amount}, {"USDC": minimum}, nonce=n)
        )[0].id
        for n in (21, 22)
    ]
    for _ in range(8):
        pipeline.run_block(pipeline.chain.head())
        stack.relay.mine_block()
        states = [parts.store.get(i).state.value for i in ids]
        if "settled" in states:
            break
    histories = {i: [(t.target.value, t.reason) for t in parts.store.history(i)] for i in ids}
    assert "settled" in states, histories
    assert "failed" not in states, histories
    pipeline.close()
    parts.store.close()
