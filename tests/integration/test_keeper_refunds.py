"""Acceptance on the local stack: a settled bundle earns a refund at the local relay; it is
attributed to its intents; the next intent of one of those users pays a fee lower by exactly the
credit; another user's balance over the threshold is paid out in that later settlement; and a
kill -9 of the keeper between the refund and the payout loses nothing."""

from __future__ import annotations

import json

import pytest
import requests

from keeper.daemon.daemon import wait_for
from keeper.devstack.localstack import KeeperProcess, LocalStack, local_stack, quote, signed_intent
from keeper.settlement.attribution import LEG_GAS, ORDER_GAS

pytestmark = [pytest.mark.fork, pytest.mark.slow]

#: low enough that one refund share passes it, so a balance left over is paid out
THRESHOLD_WEI = 10**13


def keeper_env(stack: LocalStack) -> dict[str, str]:
    builder = {
        "name": "local-buildernet",
        "url": stack.relay.url,
        "refunds": True,
        "refund_queries": True,
        "requests": 100,
        "window_s": 10,
        "connections": 3,
    }
    return {
        "KEEPER_RELAY__URLS": "[]",
        "KEEPER_RELAY__BUILDERS": json.dumps([builder]),
        "KEEPER_RELAY__REFUND_PERCENT": "90",
        "KEEPER_REFUNDS__POLL_EVERY_BLOCKS": "1",
        "KEEPER_REFUNDS__PAYOUT_THRESHOLD_WEI": str(THRESHOLD_WEI),
        # a fee larger than one refund share, so the credit lowers it without using it up
        "KEEPER_FEE__GAS_PER_ORDER": "400000",
    }


def submit(keeper: KeeperProcess, body: dict) -> str:
    answer = requests.post(f"{keeper.url}/intents", json=body, timeout=10)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def record(keeper: KeeperProcess, intent_id: str) -> dict:
    return dict(requests.get(f"{keeper.url}/intents/{intent_id}", timeout=5).json())


def drive(stack: LocalStack, until, timeout: float = 90) -> bool:
    def step() -> bool:
        if until():
            return True
        stack.relay.mine_block()
        return False

    return wait_for(step, timeout=timeout, interval=1.5)


def swap(stack: LocalStack, user, sell: str, amount: float, buy: str, nonce: int, fee) -> dict:
    units = stack.market.token(sell).units(amount)
    minimum = quote(stack, sell, units, buy) * 95 // 100
    return signed_intent(stack, user, {sell: amount}, {buy: minimum}, nonce=nonce, max_fee=fee)


def test_a_refund_is_attributed_credited_and_paid_out_and_survives_a_kill_9(tmp_path):
    portfolios = {"alice": {"WETH": 5}, "bob": {"USDC": 20_000}}
    with local_stack(tmp_path, portfolios, block_time=None) as stack:
        alice, bob = stack.users
        data = tmp_path / "keeper"
        env = keeper_env(stack)
        first = KeeperProcess(stack, data, **env).start()
        try:
            first.wait_cycles(1)  # its start-up cycle: the next block claims both intents
            ids = [
                submit(first, swap(stack, alice, "WETH", 2, "USDC", 1, ("WETH", 10**16))),
                submit(first, swap(stack, bob, "USDC", 5_000, "WETH", 1, ("USDC", 50 * 10**6))),
            ]
            assert drive(stack, lambda: all(record(first, i)["state"] == "settled" for i in ids))
            settled = [record(first, i) for i in ids]
            bundle_hash = settled[0]["bundle_hash"]
            assert {r["bundle_hash"] for r in settled} == {bundle_hash}

            # 1. the local relay paid the keeper its refund at the end of the bundle's block
            (paid,) = stack.relay.builder.ledger.query(bundle_hash=bundle_hash)
            assert paid.status == "received" and paid.amount > 0
            assert paid.recipient.lower() == stack.keeper.address.lower()
            assert paid.block_number == settled[0]["block_number"]

            # 2. the keeper asked for it and split it over the two intents by modelled gas
            def attributed() -> bool:
                refunds = [record(first, i)["refund"] for i in ids]
                return all(refunds) and sum(int(r["earnedWei"]) for r in refunds) == paid.amount

            assert drive(stack, attributed)
            shares = [int(record(first, i)["refund"]["earnedWei"]) for i in ids]
            assert ORDER_GAS + 2 * LEG_GAS == 40_000  # both intents: one sell, one buy
            assert abs(shares[0] - shares[1]) <= 1 and sum(shares) == paid.amount
            alice_credit, bob_share = shares
            assert bob_share >= THRESHOLD_WEI
        finally:
            first.kill()  # SIGKILL between the refund and its payout

        bob_eth = stack.w3.eth.get_balance(bob.address)
        with KeeperProcess(stack, data, **env) as second:
            # 3. alice's next intent: her fee is lowered by her credit; bob is paid out
            keeper_weth = weth_balance(stack, stack.keeper.address)
            third = submit(second, swap(stack, alice, "WETH", 1, "USDC", 2, ("WETH", 10**16)))
            assert drive(stack, lambda: record(second, third)["state"] == "settled")
            later = record(second, third)
            credit = later["refund"]
            assert int(credit["creditedWei"]) == alice_credit  # all of it: the fee is larger
            credit_units = int(credit["creditedFeeUnits"])
            assert credit_units > 0
            charged = weth_balance(stack, stack.keeper.address) - keeper_weth
            assert charged > 0
            fee = settled_fee(stack, later["tx_hash"])
            assert fee == charged  # the fee on chain is the lowered one

            # bob's balance, over the threshold, went out in that same bundle
            assert stack.w3.eth.get_balance(bob.address) - bob_eth == bob_share
            block = stack.w3.eth.get_block(later["block_number"], full_transactions=True)
            payouts = [t for t in block["transactions"] if t["to"] == bob.address]
            assert len(payouts) == 1 and payouts[0]["from"] == stack.keeper.address
            assert payouts[0]["value"] == bob_share

            # 4. nothing lost: everything attributed was credited or paid out
            metrics = requests.get(f"http://127.0.0.1:{second.metrics_port}/metrics", timeout=5)
            assert "keeper_refunds_passed_on_wei_total" in metrics.text
            assert "keeper_bundle_inclusion_blocks_bucket" in metrics.text
            assert second.stop() == 0


def weth_balance(stack: LocalStack, address: str) -> int:
    token = stack.market.token("WETH").address
    data = "0x70a08231" + address.lower().removeprefix("0x").rjust(64, "0")
    return int(stack.w3.eth.call({"to": token, "data": data}).hex(), 16)


def settled_fee(stack: LocalStack, tx_hash: str) -> int:
    """The keeper fee an IntentSettled event of ``tx_hash`` reports (its only fee-paying order)."""
    from keeper.settlement.abi import executor_abi
    from keeper.settlement.outcome import SettledEvents

    receipt = stack.w3.provider.make_request("eth_getTransactionReceipt", [tx_hash])["result"]
    events = SettledEvents(executor_abi()).decode(receipt["logs"], stack.executor)
    return sum(e.fee for e in events)


@pytest.mark.parametrize("lands_while_down", [True, False], ids=["landed", "missed"])
def test_a_kill_9_after_a_payout_is_submitted_pays_it_exactly_once(tmp_path, lands_while_down):
    portfolios = {"alice": {"WETH": 5}, "bob": {"USDC": 20_000}}
    with local_stack(tmp_path, portfolios, block_time=None) as stack:
        alice, bob = stack.users
        data = tmp_path / "keeper"
        env = keeper_env(stack)
        bob_eth = stack.w3.eth.get_balance(bob.address)
        first = KeeperProcess(stack, data, **env).start()
        try:
            ids = [
                submit(first, swap(stack, alice, "WETH", 2, "USDC", 1, ("WETH", 10**16))),
                submit(first, swap(stack, bob, "USDC", 5_000, "WETH", 1, ("USDC", 50 * 10**6))),
            ]
            assert drive(stack, lambda: all(record(first, i)["refund"] for i in ids))
            bob_share = int(record(first, ids[1])["refund"]["earnedWei"])
            # alice's next intent carries bob's payout in its bundle; kill once it is sent
            third = submit(first, swap(stack, alice, "WETH", 1, "USDC", 2, ("WETH", 10**16)))
            stack.relay.mine_block()
            assert wait_for(lambda: record(first, third)["state"] == "submitted", timeout=30)
        finally:
            first.kill()
        if lands_while_down:
            assert stack.relay.mine_block().included
        else:
            for _ in range(7):  # its target blocks pass without it
                assert not stack.relay.mine_block(include_bundles=False).included
        with KeeperProcess(stack, data, **env) as second:
            assert drive(stack, lambda: record(second, third)["state"] == "settled")
            assert second.stop() == 0
        # paid exactly once, whether the first bundle landed or a new one carried it
        assert stack.w3.eth.get_balance(bob.address) - bob_eth == bob_share
