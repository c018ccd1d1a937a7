"""The strategy on the forked market: valuation and decisions that end in "no action".

Alice holds WETH 20, WBTC 0.5, USDC 40,000 and DAI 10,000 (tests/conftest.py PORTFOLIOS). A
drifted user's proposal settling through the keeper is in test_strategy_keeper.py.
"""

from __future__ import annotations

import pytest
from ape import chain as ape_chain

from keeper.strategy.config import parse_strategy
from keeper.strategy.controls import ControlState
from keeper.strategy.live.evaluation import load_portfolio, propose_live

pytestmark = pytest.mark.fork


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
def strategy_executor(owner, keeper, market):
    from ape import project

    from keeper.market.executor import deploy
    from keeper.routing.calldata import routing_calls

    record = deploy(owner, keepers=[keeper.address], calls=routing_calls(market)).record
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


def test_a_user_inside_the_band_gets_no_proposal(seeded_market, alice, strategy_executor):
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
        strategy_executor.address,
        ControlState(),
        nonce=1,
    )
    assert result.proposal is None
    assert result.evaluation.decision.explanation.endswith("no action, inside band")


def test_a_rebalance_worth_less_than_its_cost_is_no_action_with_the_reason(
    seeded_market, alice, strategy_executor
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
        strategy_executor.address,
        ControlState(),
        nonce=1,
    )
    assert result.proposal is None
    text = result.evaluation.decision.explanation
    assert "no action, cost $" in text and "> benefit $" in text, text
