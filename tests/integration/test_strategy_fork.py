"""The strategy on the forked market: valuation, decisions, and a proposal that settles.

Alice holds WETH 20, WBTC 0.5, USDC 40,000 and DAI 10,000 (tests/conftest.py PORTFOLIOS).
"""

from __future__ import annotations

import pytest
from ape import chain as ape_chain

from keeper.config import GasPolicy
from keeper.intents.signing import sign_intent
from keeper.intents.validation import SignedIntent
from keeper.settlement.gas import next_base_fee, quote_fees
from keeper.settlement.plan import Candidate
from keeper.settlement.planner import NettingPlanner, describe_prices
from keeper.settlement.transaction import sign
from keeper.strategy.config import parse_strategy
from keeper.strategy.controls import ControlState
from keeper.strategy.live import load_portfolio, propose_live

pytestmark = pytest.mark.fork

MAX_UINT256 = 2**256 - 1
FAR = 2**47


def strategy(targets, **extra):
    return parse_strategy(
        {
            "name": "fork",
            "preset": "custom",
            "band": "5%",
            "targets": targets,
            "triggers": {"calendar": {"enabled": False}},
            **extra,
        }
    )


@pytest.fixture(scope="module")
def executor(owner, keeper, market):
    from ape import project

    from keeper.market.executor import default_targets, deploy

    record = deploy(owner, keepers=[keeper.address], targets=default_targets(market)).record
    return project.BatchExecutor.at(record.address)


def _weights(market, cfg, alice):
    p = load_portfolio(ape_chain.provider.web3, market, cfg, alice.address)
    return p, p.weights


def test_portfolio_is_valued_from_twap_protected_prices(seeded_market, alice):
    cfg = strategy({"WETH": 0.25, "WBTC": 0.25, "USDC": 0.4, "DAI": 0.1})
    p, w = _weights(seeded_market, cfg, alice)
    for token in seeded_market.tokens:
        if token.symbol in p.prices_usd:
            assert p.prices_usd[token.symbol] == pytest.approx(token.usd_price, rel=0.02)
    assert p.balances["WETH"] == 20 * 10**18
    assert sum(w.values()) == pytest.approx(1.0)


def test_a_user_inside_the_band_gets_no_proposal(seeded_market, alice, executor):
    cfg0 = strategy({"WETH": 0.25, "WBTC": 0.25, "USDC": 0.4, "DAI": 0.1})
    _, w = _weights(seeded_market, cfg0, alice)
    near = {k: round(v, 3) for k, v in w.items()}
    near["USDC"] += 1.0 - sum(near.values())
    cfg = strategy(near)
    result = propose_live(
        ape_chain.provider.web3,
        seeded_market,
        cfg,
        alice.address,
        executor.address,
        ControlState(),
        nonce=1,
    )
    assert result.proposal is None
    assert result.evaluation.decision.explanation.endswith("no action, inside band")


def test_a_rebalance_worth_less_than_its_cost_is_no_action_with_the_reason(
    seeded_market, alice, executor
):
    cfg0 = strategy({"WETH": 0.25, "WBTC": 0.25, "USDC": 0.4, "DAI": 0.1})
    _, w = _weights(seeded_market, cfg0, alice)
    # WETH 6 points over target (band 5 %), counted over a one-day horizon: not worth it
    targets = {k: round(v, 4) for k, v in w.items()}
    targets["WETH"] -= 0.06
    targets["USDC"] += 0.06
    targets["USDC"] += 1.0 - sum(targets.values())
    cfg = strategy(targets, costs={"horizon_days": 1})
    result = propose_live(
        ape_chain.provider.web3,
        seeded_market,
        cfg,
        alice.address,
        executor.address,
        ControlState(),
        nonce=1,
    )
    assert result.proposal is None
    text = result.evaluation.decision.explanation
    assert "no action, cost $" in text and "> benefit $" in text, text


def test_a_drifted_user_signs_the_proposal_and_the_keeper_settles_it_back_into_the_band(
    seeded_market, alice, keeper, executor, project
):
    web3 = ape_chain.provider.web3
    # WETH is 12/31 = 38.7 % of $155k; WBTC stays at its weight (9/31) so that only WETH is sold
    # (into USDC and DAI through their direct pools; see the report on multi-pair intents).
    cfg = strategy({"WETH": 0.25, "WBTC": 9 / 31, "DAI": 0.1, "USDC": 1 - 0.35 - 9 / 31})
    _, before = _weights(seeded_market, cfg, alice)
    assert abs(before["WETH"] - 0.25) > 0.05
    result = propose_live(
        web3, seeded_market, cfg, alice.address, executor.address, ControlState(), nonce=3
    )
    assert result.proposal is not None, result.evaluation.decision.explanation
    assert "rebalance to" in result.proposal.explanation
    (intent,) = result.proposal.intents
    assert [leg.token for leg in intent.sells] == [seeded_market.token("WETH").address]

    vault = project.AllowanceVault.at(executor.vault())
    for leg in intent.sells:
        token = project.TestToken.at(leg.token)
        token.approve(vault, MAX_UINT256, sender=alice)
        vault.approve(leg.token, leg.amount, FAR, sender=alice)
    chain_id = int(ape_chain.chain_id)
    signed = SignedIntent(intent=intent, signature=sign_intent(intent, alice, chain_id))

    from keeper.routing import Market as RoutingMarket
    from keeper.routing.state import read_market_snapshot

    usd, decimals = describe_prices(seeded_market)
    planner = NettingPlanner(
        executor=executor.address,
        chain_id=chain_id,
        snapshot=lambda: RoutingMarket(read_market_snapshot(web3, seeded_market)),
        usd_prices=usd,
        decimals=decimals,
        swap_router=seeded_market.contracts["SwapRouter"],
        weth=seeded_market.contracts.get("WETH9"),
        max_hops=1,
    )
    head_block = web3.eth.get_block("latest")
    from keeper.chainview import Head

    head = Head(
        int(head_block["number"]),
        int(head_block["timestamp"]),
        int(head_block["baseFeePerGas"]),
        int(head_block["gasUsed"]),
        int(head_block["gasLimit"]),
    )
    fees = quote_fees(GasPolicy(), next_base_fee(head.base_fee, head.gas_used, head.gas_limit))
    plan = planner.plan([Candidate("alice-1", signed, 0)], head, fees)
    assert plan.settlement is not None, plan.dropped
    signed_tx = sign(plan.settlement, keeper, nonce=keeper.nonce, gas_limit=3_000_000, fees=fees)
    receipt = web3.eth.wait_for_transaction_receipt(web3.eth.send_raw_transaction(signed_tx.raw))
    assert receipt["status"] == 1

    _, after = _weights(seeded_market, cfg, alice)
    targets = cfg.target_weights()
    assert max(abs(after[k] - targets[k]) for k in targets) <= 0.05 + 1e-9, after
    assert after["WETH"] < before["WETH"] - 0.05
