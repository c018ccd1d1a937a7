"""When the relay's simulation of the signed bundle reverts because of one order, only that
order pays (issue 15, problem 5). Carol cancels her nonce after the keeper's pre-check and node
simulation and before the relay simulates the bundle (the race seen under load): her intent
ends ``cancelled``; Alice's and Bob's go back without an attempt and settle in the next bundle.

Real anvil, the local relay, a real ``Pipeline`` built from settings; the test only times the
cancel: it lands as the relay is asked.
"""

from __future__ import annotations

import pytest

from keeper.devstack.localstack import local_stack
from tests.integration.test_keeper_inflight_edges import _parts, _weth_for_usdc

pytestmark = [pytest.mark.fork, pytest.mark.slow]

PORTFOLIOS = {"alice": {"WETH": 10}, "bob": {"WETH": 10}, "carol": {"WETH": 10}}
NONCE = 61


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with local_stack(tmp_path_factory.mktemp("culprit"), PORTFOLIOS, block_time=None) as s:
        yield s


def cancel_nonce(stack, user, nonce: int) -> None:
    """``invalidateNonces`` from the owner's own account, mined in a block of its own."""
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
    tx = executor.functions.invalidateNonces(nonce >> 8, 1 << (nonce & 255)).build_transaction(
        {
            "from": user.address,
            "nonce": stack.w3.eth.get_transaction_count(user.address),
            "gas": 100_000,
            "maxFeePerGas": 100 * 10**9,
            "maxPriorityFeePerGas": 10**9,
            "chainId": stack.w3.eth.chain_id,
        }
    )
    stack.w3.eth.send_raw_transaction(user.sign_transaction(tx).raw_transaction)
    stack.relay.mine_block(include_bundles=False)


def test_a_cancel_between_the_precheck_and_the_relay_simulation_charges_only_its_intent(
    stack, tmp_path
):
    alice, bob, carol = stack.users
    parts = _parts(stack, tmp_path / "k", target_blocks=2)
    pipeline = parts.pipeline
    ids = [
        parts.intake.submit(_weth_for_usdc(stack, user, nonce=NONCE, ttl=600))[0].id
        for user in (alice, bob, carol)
    ]
    relay_call_bundle = pipeline.relay.call_bundle
    raced = []

    def cancel_then_call_bundle(bundle, block_number):
        if not raced:  # Carol's cancel lands just before the relay simulates the first bundle
            raced.append(True)
            cancel_nonce(stack, carol, NONCE)
        return relay_call_bundle(bundle, block_number)

    pipeline.relay.call_bundle = cancel_then_call_bundle
    report = pipeline.run_block(pipeline.chain.head())
    assert raced and report.submitted == 0, report.notes
    records = {i: parts.store.get(i) for i in ids}
    histories = {i: [(t.target.value, t.reason) for t in parts.store.history(i)] for i in ids}
    assert records[ids[2]].state.value == "cancelled", histories[ids[2]]
    for innocent in ids[:2]:
        assert records[innocent].state.value == "accepted", histories[innocent]
        assert records[innocent].attempts == 0, histories[innocent]

    for _ in range(4):
        pipeline.run_block(pipeline.chain.head())
        stack.relay.mine_block()
        if all(parts.store.get(i).state.value == "settled" for i in ids[:2]):
            break
    pipeline.run_block(pipeline.chain.head())
    histories = {i: [(t.target.value, t.reason) for t in parts.store.history(i)] for i in ids}
    assert [parts.store.get(i).state.value for i in ids] == ["settled", "settled", "cancelled"], (
        histories
    )
    assert all(parts.store.get(i).attempts == 0 for i in ids[:2]), histories
    pipeline.close()
    parts.store.close()
