"""The ERC-4626 yield source on a real vault (OpenZeppelin's ERC4626, contracts/test) and the
opportunity trigger fed by it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from keeper.strategy.config import parse_strategy
from keeper.strategy.constants import SECONDS_PER_YEAR
from keeper.strategy.controls import ControlState
from keeper.strategy.costs import PoolCostModel
from keeper.strategy.engine import evaluate
from keeper.strategy.exceptions import YieldSourceError
from keeper.strategy.live.alerts import AlertKind, alert_kind
from keeper.strategy.live.yields import ERC4626YieldSource, source_from_config
from keeper.strategy.market_data import MarketData

E6 = 10**6
DAY = 86_400


@pytest.fixture
def vaults(owner, alice, project, chain):
    """Two USDC vaults holding $1M each; one day later A earned $100 and B $500."""
    usdc = project.TestToken.deploy("USD Coin", "USDC", 6, sender=owner)
    a = project.ERC4626Vault.deploy(usdc, "Vault A", "vA", sender=owner)
    b = project.ERC4626Vault.deploy(usdc, "Vault B", "vB", sender=owner)
    usdc.mint(alice, 2_000_000 * E6, sender=owner)
    for vault in (a, b):
        usdc.approve(vault, 1_000_000 * E6, sender=alice)
        vault.deposit(1_000_000 * E6, alice, sender=alice)
    start = chain.blocks.head
    chain.pending_timestamp = start.timestamp + DAY
    usdc.mint(a, 100 * E6, sender=owner)  # yield of A (mined exactly one day later)
    usdc.mint(b, 500 * E6, sender=owner)  # yield of B
    lookback = chain.blocks.head.number - start.number
    assert chain.blocks.head.timestamp - start.timestamp in (DAY, DAY + 1)
    return a, b, lookback, chain.blocks.head.timestamp - start.timestamp


def test_the_apy_is_the_share_price_growth_annualised(vaults, chain):
    a, b, lookback, dt = vaults
    web3 = chain.provider.web3
    source = ERC4626YieldSource(
        web3, {"vA": (a.address, 6, 1e6), "vB": (b.address, 6, 2e6)}, lookback
    )
    quotes = {q.venue: q for q in source.quotes()}
    # convertToAssets(1e6 shares) = 1e6 (TA + 1) / (TS + 1) with OpenZeppelin's virtual share:
    # before 1e6 exactly; after floor(1e6 (1e12 + 1e8 + 1) / (1e12 + 1)) = 1,000,099 for A and
    # floor(1e6 (1e12 + 5e8 + 1) / (1e12 + 1)) = 1,000,499 for B.
    assert quotes["vA"].apy == pytest.approx(1.000099 ** (SECONDS_PER_YEAR / dt) - 1, rel=1e-12)
    assert quotes["vB"].apy == pytest.approx(1.000499 ** (SECONDS_PER_YEAR / dt) - 1, rel=1e-12)
    assert 0.036 < quotes["vA"].apy < 0.037 and 0.19 < quotes["vB"].apy < 0.21
    assert quotes["vB"].liquidity_usd == 2e6


def test_a_better_vault_yield_fires_the_opportunity_trigger_and_migrates_a_step(
    vaults, alice, chain
):
    a, b, lookback, _ = vaults
    web3 = chain.provider.web3
    spec = {
        "kind": "erc4626",
        "vaults": {"vA": [a.address, 6, 5e6], "vB": [b.address, 6, 5e6]},
        "lookback_blocks": lookback,
    }
    cfg = parse_strategy(
        {
            "name": "vaults",
            "preset": "stablecoin-vault",
            "tokens": {
                "vA": {"address": a.address, "decimals": 6, "stable": True},
                "vB": {"address": b.address, "decimals": 6, "stable": True},
            },
            "targets": {"vA": 0.5, "USDC": 0.5},
            "triggers": {"opportunity": {"source": spec}, "calendar": {"enabled": False}},
        }
    )
    source = source_from_config(cfg.triggers.opportunity.source or {}, ".", web3)
    quotes = tuple(source.quotes())
    assert {q.venue for q in quotes} == {"vA", "vB"}
    value_a = a.convertToAssets(a.balanceOf(alice)) / E6  # $1,000,099.99
    holdings = {"vA": value_a, "USDC": value_a}
    costs = PoolCostModel(
        gas_price_gwei=0.01, eth_usd=3000.0, fee_rate=0.0001, default_depth_usd=1e10
    )
    now = datetime.fromtimestamp(chain.blocks.head.timestamp, UTC)
    ev = evaluate(cfg, holdings, now, ControlState(), MarketData(yields=quotes), costs)
    apy = {q.venue: q.apy for q in quotes}
    assert f"vB yields {apy['vB'] * 100:.2f}% vs vA {apy['vA'] * 100:.2f}%" in ev.explanation
    assert "move 12.5% of the portfolio" in ev.explanation  # max_step 25 % of vA's 50 %
    assert ev.decision.rebalance, ev.explanation
    value = sum(holdings.values())
    assert ev.decision.trades_usd["vA"] == pytest.approx(-0.125 * value, rel=1e-9)
    assert ev.decision.trades_usd["vB"] == pytest.approx(0.125 * value, rel=1e-9)
    assert "USDC" not in ev.decision.trades_usd  # scoped to the two venues
    assert alert_kind(ev.decision.signals) is AlertKind.OPPORTUNITY


def test_a_contract_that_is_not_a_vault_is_named_in_the_error(vaults, owner, project, chain):
    not_a_vault = project.TestToken.deploy("X", "X", 18, sender=owner)
    lookback = vaults[2] + 1
    source = ERC4626YieldSource(
        chain.provider.web3, {"X": (not_a_vault.address, 18, 0.0)}, lookback
    )
    with pytest.raises(YieldSourceError, match=not_a_vault.address):
        source.quotes()
