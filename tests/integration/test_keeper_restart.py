"""The keeper is killed (SIGKILL) right after submitting and restarted: every intent ends
settled exactly once — whether its bundle landed while the keeper was down or missed."""

from __future__ import annotations

import pytest
import requests

from keeper.daemon.daemon import wait_for
from keeper.devstack.localstack import KeeperProcess, LocalStack, local_stack, quote, signed_intent

pytestmark = [pytest.mark.fork, pytest.mark.slow]


def submit_two(stack: LocalStack, keeper: KeeperProcess) -> list[str]:
    alice, bob = stack.users
    bodies = []
    for user, sell, amount, buy in ((alice, "WETH", 2, "USDC"), (bob, "USDC", 5_000, "WETH")):
        units = stack.market.token(sell).units(amount)
        minimum = quote(stack, sell, units, buy) * 97 // 100
        bodies.append(signed_intent(stack, user, {sell: amount}, {buy: minimum}, nonce=7))
    answers = [requests.post(f"{keeper.url}/intents", json=b, timeout=10) for b in bodies]
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
    return [a.json()["id"] for a in answers]


def records(keeper: KeeperProcess, ids: list[str]) -> list[dict]:
    return [requests.get(f"{keeper.url}/intents/{i}", timeout=5).json() for i in ids]


def in_state(keeper: KeeperProcess, ids: list[str], state: str) -> bool:
    return all(r["state"] == state for r in records(keeper, ids))


def settled_once(stack: LocalStack, final: list[dict]) -> None:
    executor = stack.w3.eth.contract(
        address=stack.executor,
        abi=[
            {
                "name": "isNonceUsed",
                "type": "function",
                "stateMutability": "view",
                "inputs": [{"name": "o", "type": "address"}, {"name": "n", "type": "uint256"}],
                "outputs": [{"name": "", "type": "bool"}],
            }
        ],
    )
    for record in final:
        targets = [t["target"] for t in record["transitions"]]
        assert targets.count("settled") == 1 and targets[-1] == "settled", targets
        assert executor.functions.isNonceUsed(record["owner"], 7).call()
    # One settlement transaction on chain carried them (the relay included one bundle).
    assert len([b for b in stack.relay.history if b.included]) == 1


@pytest.mark.parametrize("bundle_lands_while_down", [True, False], ids=["landed", "missed"])
def test_a_keeper_killed_after_submitting_settles_every_intent_exactly_once(
    tmp_path, bundle_lands_while_down
):
    portfolios = {"alice": {"WETH": 5}, "bob": {"USDC": 20_000}}
    with local_stack(tmp_path, portfolios, block_time=None) as stack:
        data = tmp_path / "keeper"
        first = KeeperProcess(stack, data).start()
        try:
            first.wait_cycles(1)  # its start-up cycle: the block mined below claims both intents
            ids = submit_two(stack, first)
            stack.relay.mine_block()  # a new block: the keeper batches, signs, submits
            assert wait_for(lambda: in_state(first, ids, "submitted"), timeout=30), records(
                first, ids
            )
        finally:
            first.kill()  # SIGKILL: no clean-up, claims and leases left as they were
        if bundle_lands_while_down:
            landed = stack.relay.mine_block()
            assert landed.included
        else:  # the target blocks pass without the bundle
            for _ in range(4):
                assert not stack.relay.mine_block(include_bundles=False).included

        with KeeperProcess(stack, data) as second:

            def done() -> bool:
                if in_state(second, ids, "settled"):
                    return True
                stack.relay.mine_block()
                return False

            assert wait_for(done, timeout=60, interval=1.5), records(second, ids)
            final = records(second, ids)
            assert second.stop() == 0
        settled_once(stack, final)
    if not bundle_lands_while_down:
        targets = [t["target"] for t in final[0]["transitions"]]
        assert targets.count("submitted") >= 2 and "retrying" in str(final[0]["transitions"])
