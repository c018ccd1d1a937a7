"""The settlement object on a real executor: pre-check, simulate, sign and send the same bytes."""

from __future__ import annotations

import pytest
from ape import chain as ape_chain

from keeper.config import GasPolicy
from keeper.daemon.batching import FINAL_STATUSES
from keeper.daemon.simulation import Simulator
from keeper.intents.states import IntentState
from keeper.intents.types import DirectLeg
from keeper.settlement.abi import encode_orders
from keeper.settlement.exceptions import GasAboveCapError
from keeper.settlement.gas import FeeQuote, next_base_fee, quote_fees
from keeper.settlement.transaction import Settlement, sign
from tests.keeper.pipeline.conftest import E6, E18


@pytest.fixture
def simulator(executor, keeper, decoder):
    return Simulator(ape_chain.provider.web3, executor.address, keeper.address, decoder)


@pytest.fixture
def cow(users, alice, bob, weth, usdc):
    """Alice sells 1 WETH for USDC, Bob sells 3,000 USDC for WETH: they net with no swap."""
    users.fund(alice, weth, E18)
    users.fund(bob, usdc, 3_000 * E6)
    a = users.intent(alice, sells=[(weth, E18)], buys=[(usdc, 2_990 * E6)])
    b = users.intent(bob, sells=[(usdc, 3_000 * E6)], buys=[(weth, E18)])
    orders = (users.order(a, alice, buy_amounts=[3_000 * E6]), users.order(b, bob))
    return orders


def fees() -> FeeQuote:
    base = int(ape_chain.blocks.head.base_fee)
    return quote_fees(GasPolicy(), next_base_fee(base, 0, 30_000_000))


def test_the_simulated_calldata_is_signed_and_sent_unchanged_and_settles(
    users, executor, keeper, simulator, cow, alice, bob, weth, usdc
):
    settlement = Settlement(
        executor=executor.address,
        chain_id=users.chain_id,
        orders=cow,
        interactions=(),
        intent_ids=("0xa", "0xb"),
    )
    assert simulator.check_orders(settlement.orders) == [None, None]
    simulation = simulator.estimate(settlement)
    assert simulation.ok and 100_000 < simulation.gas_used < 400_000

    signed = sign(
        settlement,
        keeper,
        nonce=keeper.nonce,
        gas_limit=simulation.gas_used * 15 // 10,
        fees=fees(),
    )
    web3 = ape_chain.provider.web3
    tx_hash = web3.eth.send_raw_transaction(signed.raw)
    receipt = web3.eth.wait_for_transaction_receipt(tx_hash)
    assert "0x" + bytes(tx_hash).hex() == signed.tx_hash
    assert receipt["status"] == 1
    sent = web3.eth.get_transaction(tx_hash)
    assert bytes(sent["input"]) == settlement.calldata
    assert usdc.balanceOf(alice) == 3_000 * E6 and weth.balanceOf(bob) == E18


def test_a_failing_order_is_named_by_the_precheck_and_by_the_simulation(
    users, executor, simulator, cow, carol, weth, usdc
):
    users.fund(carol, weth, E18)
    stale = users.intent(carol, sells=[(weth, E18)], buys=[(usdc, 1)], nonce=9)
    stale_order = users.order(stale, carol)
    executor.invalidateNonces(0, 1 << 9, sender=carol)
    statuses = simulator.check_orders([*cow, stale_order])
    assert statuses == [None, None, "NonceAlreadyUsed"]
    settlement = Settlement(
        executor=executor.address,
        chain_id=users.chain_id,
        orders=(*cow, stale_order),
        interactions=(),
        intent_ids=("0xa", "0xb", "0xc"),
    )
    simulation = simulator.estimate(settlement)
    assert not simulation.ok and simulation.error.name == "NonceAlreadyUsed"
    assert simulation.error.args == (carol.address, 9)


def test_a_coincidence_of_wants_settles_as_direct_legs_with_nothing_through_the_executor(
    users, executor, keeper, simulator, alice, bob, weth, usdc
):
    users.fund(alice, weth, E18)
    users.fund(bob, usdc, 3_000 * E6)
    a = users.intent(alice, sells=[(weth, E18)], buys=[(usdc, 2_990 * E6)], nonce=20)
    b = users.intent(bob, sells=[(usdc, 3_000 * E6)], buys=[(weth, E18)], nonce=20)

    def direct(order, to):
        execution = order.execution.model_copy(
            update={"buy_amounts": (0,), "sell_to": (DirectLeg(order=to, leg=0),)}
        )
        return order.model_copy(update={"execution": execution})

    orders = (direct(users.order(a, alice), 1), direct(users.order(b, bob), 0))
    settlement = Settlement(
        executor=executor.address,
        chain_id=users.chain_id,
        orders=orders,
        interactions=(),
        intent_ids=("0xa", "0xb"),
    )
    assert simulator.check_orders(settlement.orders) == [None, None]
    alice_usdc, bob_weth = usdc.balanceOf(alice), weth.balanceOf(bob)
    executor_balances = (weth.balanceOf(executor), usdc.balanceOf(executor))
    receipt = executor.settle(encode_orders(settlement.orders), [], sender=keeper)
    assert not receipt.failed
    assert usdc.balanceOf(alice) - alice_usdc == 3_000 * E6
    assert weth.balanceOf(bob) - bob_weth == E18
    assert (weth.balanceOf(executor), usdc.balanceOf(executor)) == executor_balances
    # one transfer per leg: seller to buyer, none to or from the executor
    transfers = [log for log in receipt.decode_logs() if log.event_name == "Transfer"]
    assert len(transfers) == 2
    assert {(log["from"], log["to"]) for log in transfers} == {
        (alice.address, bob.address),
        (bob.address, alice.address),
    }


def test_an_intent_signed_for_another_executor_fails_the_precheck_as_a_bad_signature(
    users, executor, simulator, carol, weth, usdc
):
    users.fund(carol, weth, E18)
    other = users.intent(carol, sells=[(weth, E18)], buys=[(usdc, 1)], nonce=21).model_copy(
        update={"executor": "0x" + "e2" * 20}
    )
    assert simulator.check_orders([users.order(other, carol)]) == ["InvalidSignature"]
    assert FINAL_STATUSES["InvalidSignature"] is IntentState.FAILED


def test_gas_policy_caps_the_fee_and_refuses_above_the_cap():
    policy = GasPolicy(priority_fee_gwei=2, max_fee_gwei=50, base_fee_headroom=2)
    quote = quote_fees(policy, 10 * 10**9)
    assert (quote.max_priority_fee, quote.max_fee) == (2 * 10**9, 22 * 10**9)
    assert quote_fees(policy, 30 * 10**9).max_fee == 50 * 10**9
    with pytest.raises(GasAboveCapError, match=r"exceeds the cap 50\.00 gwei"):
        quote_fees(policy, 49 * 10**9)
    assert next_base_fee(10**9, 30_000_000, 30_000_000) == 1_125_000_000
    assert next_base_fee(10**9, 0, 30_000_000) == 875_000_000
