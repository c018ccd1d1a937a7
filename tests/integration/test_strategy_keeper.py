"""The strategy through the keeper: a drifted user's proposal is signed, submitted to a real
`keeper run` process, settled in a private bundle through the local relay, and the weights come
back inside the band. Real anvil (the saved seeded market), real Uniswap, real HTTP.

Every user holds WETH 20, WBTC 0.5, USDC 40,000 and DAI 10,000 (about $155k: WETH 38.7 %,
WBTC 29.0 %, USDC 25.8 %, DAI 6.5 %).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from keeper.devstack.localstack import KeeperProcess, local_stack

pytestmark = [pytest.mark.fork, pytest.mark.slow]

HOLDINGS = {"WETH": 20, "WBTC": 0.5, "USDC": 40_000, "DAI": 10_000}
BAND = 0.05


def strategy(targets: dict[str, float]) -> Any:
    from keeper.strategy.config import parse_strategy

    return parse_strategy(
        {
            "name": "keeper-e2e",
            "preset": "custom",
            "band": BAND,
            "targets": targets,
            "triggers": {"calendar": {"enabled": False}},
        }
    )


def strategy_stack(tmp_path_factory):
    """Market + executor + relay with alice, bob, carol and dave funded and approved."""
    workdir = tmp_path_factory.mktemp("strategy-stack")
    users = {"alice": HOLDINGS, "bob": HOLDINGS, "carol": HOLDINGS, "dave": HOLDINGS}
    with local_stack(workdir, users, block_time=1.0) as s:
        yield s


stack = pytest.fixture(scope="module")(strategy_stack)


def weights(stack, cfg, owner: str) -> dict[str, float]:
    from keeper.strategy.live.evaluation import load_portfolio

    return load_portfolio(stack.w3, stack.market, cfg, owner).weights


def propose_and_submit(stack, keeper: KeeperProcess, user, cfg, nonce: int, per_leg: bool):
    """The user's side: evaluate, review, sign (keeper.intents), submit over HTTP."""
    from keeper.intents.signing import sign_intent
    from keeper.intents.validation import SignedIntent
    from keeper.strategy.controls import ControlState
    from keeper.strategy.live.evaluation import propose_live

    result = propose_live(
        stack.w3,
        stack.market,
        cfg,
        user.address,
        stack.executor,
        ControlState(),
        nonce=nonce,
        intent_per_leg=per_leg,
    )
    assert result.proposal is not None, result.evaluation.decision.explanation
    ids = []
    for intent in result.proposal.intents:
        signed = SignedIntent(
            intent=intent,
            signature=sign_intent(intent, user, stack.chain_id),
            chain_id=stack.chain_id,
        )
        answer = requests.post(f"{keeper.url}/intents", json=signed.to_wire(), timeout=10)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    return result, ids


def wait_settled(keeper: KeeperProcess, ids: list[str], timeout: float = 90.0) -> list[dict]:
    """Poll the keeper until every intent settled; fail fast on a terminal failure or when the
    planner keeps deferring the intent (the same plan every block would defer it forever)."""
    end = time.monotonic() + timeout
    records: list[dict] = []
    while time.monotonic() < end:
        records = [requests.get(f"{keeper.url}/intents/{i}", timeout=5).json() for i in ids]
        if all(r["state"] == "settled" for r in records):
            return records
        for r in records:
            assert r["state"] not in ("failed", "expired", "cancelled"), (
                r["state"],
                r.get("reason"),
                [(t["target"], t.get("reason")) for t in r["transitions"]],
            )
            deferrals = [
                t for t in r["transitions"] if "deferred" in (t.get("reason") or "").lower()
            ]
            assert len(deferrals) < 5, f"the planner deferred the intent {len(deferrals)} times"
        time.sleep(0.5)
    raise AssertionError(f"not settled within {timeout}s: {records}")


def settle_through_keeper(
    stack, tmp_path, user, targets: dict[str, float], nonce: int, per_leg: bool = False
):
    cfg = strategy(targets)
    before = weights(stack, cfg, user.address)
    assert max(abs(before[k] - targets[k]) for k in targets) > BAND  # drifted past the band
    with KeeperProcess(stack, tmp_path / "keeper") as keeper:
        result, ids = propose_and_submit(stack, keeper, user, cfg, nonce, per_leg)
        records = wait_settled(keeper, ids)
        assert keeper.stop() == 0
    after = weights(stack, cfg, user.address)
    return result, records, before, after


def test_a_drifted_user_selling_one_asset_settles_through_the_keeper_into_the_band(stack, tmp_path):
    bob = stack.users[1]
    # WBTC and DAI keep their current weights exactly: only WETH is sold, only USDC bought.
    now = weights(stack, strategy(dict.fromkeys(HOLDINGS, 0.25)), bob.address)
    targets = {"WETH": 0.25, "WBTC": now["WBTC"], "DAI": now["DAI"]}
    targets["USDC"] = 1.0 - sum(targets.values())
    result, records, before, after = settle_through_keeper(stack, tmp_path, bob, targets, 7)
    (intent,) = result.proposal.intents
    assert [leg.token for leg in intent.sells] == [stack.market.token("WETH").address]
    assert [leg.token for leg in intent.buys] == [stack.market.token("USDC").address]
    assert [t["target"] for t in records[0]["transitions"]][-1] == "settled"
    assert records[0]["tx_hash"]
    assert max(abs(after[k] - targets[k]) for k in targets) <= BAND + 1e-9, after
    assert after["WETH"] < before["WETH"] - 0.05


GENERAL = {"WETH": 0.30, "WBTC": 0.20, "USDC": 0.35, "DAI": 0.15}


def test_a_drifted_user_selling_several_assets_for_several_settles_through_the_keeper(
    stack, tmp_path
):
    alice = stack.users[0]
    # sell WETH (38.7 % -> 30 %) and WBTC (29.0 % -> 20 %); buy USDC (25.8 % -> 35 %) and DAI
    # (6.5 % -> 15 %); one intent per (sell, buy) leg. The executor credits each buy leg with
    # its own delivery, so legs buying one token may share a settlement: how many settlements
    # carry them depends only on which block each arrives in, and none is ever deferred.
    result, records, before, after = settle_through_keeper(
        stack, tmp_path, alice, GENERAL, 5, per_leg=True
    )
    intents = result.proposal.intents
    assert len(intents) >= 3 and [i.nonce for i in intents] == list(range(5, 5 + len(intents)))
    sold = {leg.token for i in intents for leg in i.sells}
    bought = {leg.token for i in intents for leg in i.buys}
    assert sold == {stack.market.token(s).address for s in ("WETH", "WBTC")}
    assert bought == {stack.market.token(s).address for s in ("USDC", "DAI")}
    assert all(r["state"] == "settled" for r in records)
    assert 1 <= len({r["tx_hash"] for r in records}) <= len(intents)
    assert all(r["attempts"] == 0 for r in records), records
    for r in records:  # claimed, planned and sent at once: never left for a later block
        assert not [t for t in r["transitions"] if "deferred" in (t.get("reason") or "")], r
    assert max(abs(after[k] - GENERAL[k]) for k in GENERAL) <= BAND + 1e-9, after
    assert after["WETH"] < before["WETH"] and after["WBTC"] < before["WBTC"]
    assert after["USDC"] > before["USDC"] and after["DAI"] > before["DAI"]


def test_a_drifted_users_one_multi_leg_intent_settles_through_the_keeper(stack, tmp_path):
    dave = stack.users[3]
    result, records, _, after = settle_through_keeper(stack, tmp_path, dave, GENERAL, 9)
    (intent,) = result.proposal.intents
    assert len(intent.sells) == 2 and len(intent.buys) == 2
    assert records[0]["state"] == "settled"
    assert max(abs(after[k] - GENERAL[k]) for k in GENERAL) <= BAND + 1e-9, after
