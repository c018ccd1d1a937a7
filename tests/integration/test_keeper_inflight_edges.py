"""Edges of the keeper's per-block cycle on a real anvil behind the local relay: intents that
reach their deadline as a batch goes out, and what one such intent does to the rest."""

from __future__ import annotations

import time

import pytest

from keeper.devstack.localstack import KEEPER_SIGNER, local_stack, quote, signed_intent

pytestmark = [pytest.mark.fork, pytest.mark.slow]

PORTFOLIOS = {"alice": {"WETH": 10}, "bob": {"WETH": 10}}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with local_stack(tmp_path_factory.mktemp("edges"), PORTFOLIOS, block_time=None) as s:
        yield s


def _parts(stack, data_dir, target_blocks: int = 3, confirmations: int = 1, **overrides):
    from keeper.config import load_settings
    from keeper.daemon.daemon import build

    settings = load_settings(
        data_dir=data_dir,
        # Through the relay, as `keeper run` in KeeperProcess reads: it forwards reads to anvil
        # under its builder's lock. Straight to anvil, a read pinned to the head can see a trial
        # block the relay mines for eth_callBundle of this keeper's own settlement (the keeper
        # signs early and has the relay simulate while it simulates): anvil answers a call at
        # the latest block number from its live state, which the trial's evm_mine changes.
        rpc_url=stack.relay.url,
        signer=KEEPER_SIGNER,
        keeper_id="edges",
        relay={
            "urls": [stack.relay.url],
            "target_blocks": target_blocks,
            "confirmations": confirmations,
        },
        intake={"enabled": False},
        metrics={"enabled": False},
        **overrides,
    )
    return build(settings, stack.deployments_file)


def _weth_for_usdc(stack, user, nonce: int, ttl: int, weth: float = 1) -> dict:
    units = stack.market.token("WETH").units(weth)
    minimum = quote(stack, "WETH", units, "USDC") * 95 // 100
    return signed_intent(stack, user, {"WETH": weth}, {"USDC": minimum}, nonce=nonce, ttl=ttl)


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


def test_bundles_that_miss_their_blocks_do_not_use_up_the_intents_attempts(stack, tmp_path):
    """Builders ignoring the keeper's bundle four times is not the intent's fault: a later
    drop for a reason that passes (the owner's balance briefly too low) must not fail it."""
    from keeper.market.funding import balance_of, set_token_balance

    bob = stack.users[1]
    weth = stack.market.token("WETH").address
    parts = _parts(stack, tmp_path / "k", target_blocks=1)
    pipeline = parts.pipeline
    intent_id = parts.intake.submit(_weth_for_usdc(stack, bob, nonce=5, ttl=600))[0].id
    misses = 0
    while misses < 4:
        pipeline.run_block(pipeline.chain.head())
        assert parts.store.get(intent_id).state.value == "submitted"
        stack.relay.mine_block(include_bundles=False)  # a proposer without mev-boost
        misses += 1
    held = balance_of(stack.w3, weth, bob.address)
    set_token_balance(stack.w3, weth, bob.address, 0)  # moved away for a moment
    pipeline.run_block(pipeline.chain.head())  # the 4th miss is retried, then checkOrder fails
    record = parts.store.get(intent_id)
    history = [(t.target.value, t.reason) for t in parts.store.history(intent_id)]
    assert record.state.value == "accepted", history
    set_token_balance(stack.w3, weth, bob.address, held)
    stack.relay.mine_block()
    for _ in range(3):
        pipeline.run_block(pipeline.chain.head())
        stack.relay.mine_block()
    assert parts.store.get(intent_id).state.value == "settled", parts.store.history(intent_id)
    pipeline.close()
    parts.store.close()


def test_a_relay_simulation_that_fails_for_the_keepers_own_reasons_does_not_blame_the_intents(
    stack, tmp_path
):
    """The keeper's account cannot pay for gas: the node's simulation (no gas price) passes, the
    relay's of the signed transaction does not. That is the keeper's problem (the failure budget
    counts it), not the intents': none of their attempts is used up."""
    alice = stack.users[0]
    keeper = stack.keeper.address
    parts = _parts(stack, tmp_path / "k")
    pipeline = parts.pipeline
    intent_id = parts.intake.submit(_weth_for_usdc(stack, alice, nonce=31, ttl=600))[0].id
    funds = stack.w3.eth.get_balance(keeper)
    stack.w3.provider.make_request("anvil_setBalance", [keeper, hex(10**9)])
    try:
        report = pipeline.run_block(pipeline.chain.head())
    finally:
        stack.w3.provider.make_request("anvil_setBalance", [keeper, hex(funds)])
    record = parts.store.get(intent_id)
    history = [(t.target.value, t.reason) for t in parts.store.history(intent_id)]
    assert record.state.value == "accepted", history
    assert pipeline.breaker.recent_failures == 1, report.notes
    assert record.attempts == 0, history
    for _ in range(3):
        stack.relay.mine_block()
        pipeline.run_block(pipeline.chain.head())
    assert parts.store.get(intent_id).state.value == "settled", parts.store.history(intent_id)
    pipeline.close()
    parts.store.close()


def test_an_intent_cancelled_on_chain_while_its_bundle_is_out_ends_cancelled_the_rest_settle(
    stack, tmp_path
):
    """Alice spends her nonce (``invalidateNonces``) while the bundle holding her intent and
    Bob's is in flight: the bundle can no longer land. Alice's intent ends ``cancelled``, Bob's
    is retried (no attempt used) and settles in a later bundle; nothing settles twice."""
    alice, bob = stack.users
    parts = _parts(stack, tmp_path / "k", target_blocks=2)
    pipeline = parts.pipeline
    ids = [
        parts.intake.submit(_weth_for_usdc(stack, user, nonce=41, ttl=600))[0].id
        for user in (alice, bob)
    ]
    report = pipeline.run_block(pipeline.chain.head())
    assert report.submitted == 2, report.notes
    executor = stack.w3.eth.contract(
        address=stack.executor,
        abi=[
            {
                "name": "invalidateNonces",
                "type": "function",
                "stateMutability": "nonpayable",
                "inputs": [{"name": "w", "type": "uint256"}, {"name": "m", "type": "uint256"}],
                "outputs": [],
            }
        ],
    )
    tx = executor.functions.invalidateNonces(41 >> 8, 1 << (41 & 255)).build_transaction(
        {
            "from": alice.address,
            "nonce": stack.w3.eth.get_transaction_count(alice.address),
            "gas": 100_000,
            "maxFeePerGas": 100 * 10**9,
            "maxPriorityFeePerGas": 10**9,
            "chainId": stack.w3.eth.chain_id,
        }
    )
    stack.w3.eth.send_raw_transaction(alice.sign_transaction(tx).raw_transaction)
    stack.relay.mine_block(include_bundles=False)  # only Alice's public cancel lands
    for _ in range(5):
        pipeline.run_block(pipeline.chain.head())
        stack.relay.mine_block()
        if parts.store.get(ids[1]).state.value == "settled":
            break
    pipeline.run_block(pipeline.chain.head())
    histories = [[(t.target.value, t.reason) for t in parts.store.history(i)] for i in ids]
    states = [parts.store.get(i).state.value for i in ids]
    assert states == ["cancelled", "settled"], histories
    assert parts.store.get(ids[1]).attempts == 0, histories
    assert [t for t, _ in histories[1]].count("settled") == 1
    assert not pipeline.breaker.halted
    pipeline.close()
    parts.store.close()


class HollowSimulation:
    """An HTTP proxy to the local relay whose ``eth_callBundle`` answers simulate nothing (an
    empty ``results`` list, the totals kept): a relay that did not run the transaction."""

    def __init__(self, upstream: str) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        import requests

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = requests.post(upstream, data=body, headers=headers, timeout=30)
                content = answer.content
                if json.loads(body).get("method") == "eth_callBundle":
                    data = answer.json()
                    data["result"]["results"] = []
                    content = json.dumps(data).encode()
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_nothing_is_sent_on_a_relay_simulation_that_did_not_run_the_signed_transaction(
    stack, tmp_path
):
    bob = stack.users[1]
    hollow = HollowSimulation(stack.relay.url)
    try:
        parts = _parts(stack, tmp_path / "k")
        parts.pipeline.relay = type(parts.pipeline.relay)([hollow.url], parts.pipeline.relay.signer)
        pipeline = parts.pipeline
        intent_id = parts.intake.submit(_weth_for_usdc(stack, bob, nonce=51, ttl=600))[0].id
        report = pipeline.run_block(pipeline.chain.head())
        record = parts.store.get(intent_id)
        history = [(t.target.value, t.reason) for t in parts.store.history(intent_id)]
        assert report.submitted == 0 and not pipeline.in_flight, report.notes
        assert stack.relay.builder.orders == []  # no bundle reached the relay
        assert record.state.value == "accepted" and record.tx_hash is None, history
        assert pipeline.breaker.recent_failures == 1
        pipeline.close()
        parts.store.close()
    finally:
        hollow.close()


def test_an_earlier_signed_settlement_that_lands_late_settles_its_intent_not_cancels_it(
    stack, tmp_path
):
    """A missed bundle's transaction leaks (an uncled block's transactions go back to public
    mempools) and lands after the keeper re-batched its intent under a new transaction with the
    same account nonce. The intent was settled by this keeper's own earlier transaction: it
    must end ``settled`` with that transaction, not ``cancelled`` as if the user had."""
    alice = stack.users[0]
    parts = _parts(stack, tmp_path / "k", target_blocks=1)
    pipeline = parts.pipeline
    intent_id = parts.intake.submit(_weth_for_usdc(stack, alice, nonce=61, ttl=600))[0].id
    pipeline.run_block(pipeline.chain.head())
    first = pipeline.in_flight[0]
    leaked = first.bundle.txs[0]
    stack.relay.mine_block(include_bundles=False)  # missed
    pipeline.run_block(pipeline.chain.head())  # retried, re-batched: a new transaction
    second = pipeline.in_flight[0]
    assert second.tx_hash != first.tx_hash and second.ids == [intent_id]
    stack.w3.eth.send_raw_transaction(leaked)  # the first one, public now
    stack.relay.mine_block(include_bundles=False)
    receipt = stack.w3.eth.get_transaction_receipt(first.tx_hash)
    assert receipt["status"] == 1
    for _ in range(2):
        pipeline.run_block(pipeline.chain.head())
        stack.relay.mine_block(include_bundles=False)
    record = parts.store.get(intent_id)
    history = [(t.target.value, t.reason, t.tx_hash) for t in parts.store.history(intent_id)]
    assert record.state.value == "settled", history
    assert record.tx_hash == first.tx_hash, history
    pipeline.close()
    parts.store.close()


def _state(parts, intent_id: str) -> str:
    return parts.store.get(intent_id).state.value


def test_with_two_confirmations_an_intent_is_recorded_settled_only_two_blocks_deep(stack, tmp_path):
    alice = stack.users[0]
    parts = _parts(stack, tmp_path / "k", confirmations=2)
    pipeline = parts.pipeline
    intent_id = parts.intake.submit(_weth_for_usdc(stack, alice, nonce=71, ttl=600, weth=0.1))[0].id
    assert pipeline.run_block(pipeline.chain.head()).submitted == 1
    landed = stack.relay.mine_block()
    receipt = stack.w3.eth.get_transaction_receipt(pipeline.in_flight[0].tx_hash)
    assert receipt["blockNumber"] == landed.number and receipt["status"] == 1
    for depth in (0, 1):  # in the block, then one block deep: not yet
        pipeline.run_block(pipeline.chain.head())
        assert _state(parts, intent_id) == "submitted", (depth, parts.store.history(intent_id))
        stack.relay.mine_block()
    pipeline.run_block(pipeline.chain.head())  # two blocks deep
    record = parts.store.get(intent_id)
    assert record.state.value == "settled"
    assert record.tx_hash == "0x" + bytes(receipt["transactionHash"]).hex()
    pipeline.close()
    parts.store.close()


def test_a_settlement_reorged_out_before_it_is_deep_enough_is_sent_again_not_recorded_settled(
    stack, tmp_path
):
    """With ``relay.confirmations = 2`` a settlement one block deep is not final for the keeper:
    a reorg that drops it (here: anvil reverted to before its block) leaves the intent
    ``submitted``, the bundle is sent again for the new chain's next block, and the intent is
    recorded settled once that inclusion is two blocks deep, never before."""
    alice = stack.users[0]
    parts = _parts(stack, tmp_path / "k", confirmations=2)
    pipeline = parts.pipeline
    intent_id = parts.intake.submit(_weth_for_usdc(stack, alice, nonce=72, ttl=600, weth=0.1))[0].id
    pipeline.run_block(pipeline.chain.head())
    tx_hash = pipeline.in_flight[0].tx_hash
    snapshot = stack.w3.provider.make_request("evm_snapshot", [])["result"]
    stack.relay.mine_block()
    pipeline.run_block(pipeline.chain.head())
    stack.relay.mine_block()
    pipeline.run_block(pipeline.chain.head())  # one block deep
    assert _state(parts, intent_id) == "submitted"
    assert stack.w3.provider.make_request("evm_revert", [snapshot])["result"] is True
    dropped = stack.w3.provider.make_request("eth_getTransactionReceipt", [tx_hash])
    assert dropped["result"] is None  # the reorg dropped it
    pipeline.run_block(pipeline.chain.head())  # receipt gone: the bundle is sent again
    assert _state(parts, intent_id) == "submitted", parts.store.history(intent_id)
    stack.relay.mine_block()
    receipt = stack.w3.eth.get_transaction_receipt(tx_hash)  # the same signed transaction
    for _ in range(2):
        pipeline.run_block(pipeline.chain.head())
        stack.relay.mine_block()
    pipeline.run_block(pipeline.chain.head())
    record = parts.store.get(intent_id)
    history = [(t.target.value, t.block_number) for t in parts.store.history(intent_id)]
    assert record.state.value == "settled", history
    assert [h for h in history if h[0] == "settled"] == [("settled", receipt["blockNumber"])]
    pipeline.close()
    parts.store.close()
