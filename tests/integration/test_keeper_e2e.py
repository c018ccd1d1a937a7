"""End to end: users sign intents, the keeper (a real `keeper run` process) settles them in one
bundle through the local relay, on the seeded market. Real anvil, real Uniswap, real HTTP.

The chain moves in step with the keeper: a block is built only after the keeper has run its
cycle for the previous one (its ``keeper_blocks_processed`` counter), so what the keeper sees
per block does not depend on how busy the machine is."""

from __future__ import annotations

import pytest
import requests
from eth_abi import decode

from keeper.devstack.localstack import KeeperProcess, local_stack, quote, signed_intent
from keeper.intents.types import DirectLeg, Order
from keeper.settlement.abi import SETTLE_SELECTOR, decode_orders

pytestmark = [pytest.mark.fork, pytest.mark.slow]

PORTFOLIOS = {
    "alice": {"WETH": 10},
    "bob": {"USDC": 40_000},
    "carol": {"WBTC": 1},
}


def balance(stack, symbol: str, holder: str) -> int:
    from keeper.market.funding import balance_of

    return balance_of(stack.w3, stack.market.token(symbol).address, holder)


def states(keeper: KeeperProcess, ids: list[str]) -> dict[str, dict]:
    return {i: requests.get(f"{keeper.url}/intents/{i}", timeout=5).json() for i in ids}


def settled_orders(calldata: bytes, executor: str) -> list[Order]:
    """The orders of a ``settle`` transaction's input."""
    assert calldata[:4] == SETTLE_SELECTOR
    packed, _ = decode(["bytes", "(address,uint256,bytes)[]"], calldata[4:])
    return decode_orders(packed, executor)


def next_block_in_step(stack, keeper: KeeperProcess) -> None:
    """Build one block, then wait until the keeper has run its cycle for it."""
    done = keeper.cycles()
    stack.relay.mine_block()
    keeper.wait_cycles(done + 1)


def test_opposite_users_and_an_amm_user_settle_in_one_private_bundle(tmp_path):
    # No block is built until all three intents are in (block_time=None): they become valid
    # in the same block, so the keeper sees them together whatever the time their submission
    # takes (with blocks on a timer they could be valid before the last one arrived, and the
    # first ones would go out in a bundle of their own).
    with local_stack(tmp_path, PORTFOLIOS, block_time=None) as stack:
        alice, bob, carol = stack.users
        e18, e6, e8 = 10**18, 10**6, 10**8
        start = int(stack.w3.eth.get_block("latest")["timestamp"]) + 1  # valid from the next block

        # Alice sells WETH for USDC and Bob the opposite: they net against each other. Carol's
        # WBTC -> DAI has no counter-flow: it goes through the pools. Limits: 2% under the AMM.
        def intent(user, sell: str, amount: float, buy: str) -> dict:
            units = stack.market.token(sell).units(amount)
            minimum = quote(stack, sell, units, buy) * 98 // 100
            return signed_intent(
                stack, user, {sell: amount}, {buy: minimum}, nonce=1, valid_after=start
            )

        bodies = [
            intent(alice, "WETH", 4, "USDC"),
            intent(bob, "USDC", 9_000, "WETH"),
            intent(carol, "WBTC", 0.5, "DAI"),
        ]
        before = {
            "alice": (balance(stack, "WETH", alice.address), balance(stack, "USDC", alice.address)),
            "bob": (balance(stack, "USDC", bob.address), balance(stack, "WETH", bob.address)),
            "carol": (balance(stack, "WBTC", carol.address), balance(stack, "DAI", carol.address)),
        }
        with KeeperProcess(stack, tmp_path / "keeper") as keeper:
            answers = [requests.post(f"{keeper.url}/intents", json=b, timeout=10) for b in bodies]
            assert [a.status_code for a in answers] == [201, 201, 201], [a.text for a in answers]
            ids = [a.json()["id"] for a in answers]

            def all_settled() -> bool:
                return all(r["state"] == "settled" for r in states(keeper, ids).values())

            # the start-up cycle (for the head it found) is done: from here, one cycle per block
            keeper.wait_cycles(1)
            # valid -> batched and sent; included; one block deep -> settled
            for _ in range(6):
                if all_settled():
                    break
                next_block_in_step(stack, keeper)
            assert all_settled(), states(keeper, ids)
            records = states(keeper, ids)
            metrics = requests.get(f"http://127.0.0.1:{keeper.metrics_port}/metrics", timeout=5)
            assert keeper.stop() == 0  # graceful: SIGTERM ends the loop cleanly
        sent = stack.w3.eth.get_transaction(records[ids[0]]["tx_hash"])
        orders = settled_orders(bytes(sent["input"]), stack.executor)
        after = {
            "alice": (balance(stack, "WETH", alice.address), balance(stack, "USDC", alice.address)),
            "bob": (balance(stack, "USDC", bob.address), balance(stack, "WETH", bob.address)),
            "carol": (balance(stack, "WBTC", carol.address), balance(stack, "DAI", carol.address)),
        }

    # One transaction, one bundle, for all three.
    assert len({r["tx_hash"] for r in records.values()}) == 1
    assert len({r["bundle_hash"] for r in records.values()}) == 1
    for record in records.values():
        assert [t["target"] for t in record["transitions"]] == [
            "accepted", "batched", "simulated", "submitted", "settled",
        ]  # fmt: skip
    included = [b for b in stack.relay.history if b.included]
    assert len(included) == 1 and included[0].included == [records[ids[0]]["bundle_hash"]]
    # Balances: sells left exactly (the whole signed maximum), buys arrived above the minimum.
    mins = [int(b["intent"]["buys"][0]["amount"]) for b in bodies]
    sold = {"alice": 4 * e18, "bob": 9_000 * e6, "carol": e8 // 2}
    for (name, (sell_before, buy_before)), minimum in zip(before.items(), mins, strict=True):
        sell_after, buy_after = after[name]
        assert sell_before - sell_after == sold[name], name
        assert buy_after - buy_before >= minimum, name
    # Bob's 9,000 USDC is less than the USDC Alice buys: pulled straight to her (a direct leg);
    # Alice's 4 WETH is more than Bob buys and Carol's WBTC has no buyer: both via the executor.
    owners = [o.intent.owner for o in orders]
    by_owner = {o.intent.owner: o.execution for o in orders}
    assert by_owner[bob.address].sell_to == (DirectLeg(order=owners.index(alice.address), leg=0),)
    assert by_owner[alice.address].sell_to == () and by_owner[carol.address].sell_to == ()
    assert 'keeper_bundles_total{outcome="included"} 1.0' in metrics.text
    assert 'keeper_intents{state="settled"} 3.0' in metrics.text
