"""Strategy files: presets, and bad files that must name the offending key."""

from __future__ import annotations

from pathlib import Path

import pytest

from keeper.exceptions import ConfigError, KeeperError
from keeper.strategy.config import load_strategy, parse_strategy
from keeper.strategy.constants import Frequency
from keeper.strategy.exceptions import StrategyConfigError

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "strategy"
EXAMPLES = ROOT / "examples" / "strategies"


@pytest.mark.parametrize(
    ("file", "key", "problem"),
    [
        ("bad_unknown_preset.yaml", "preset", "unknown preset 'index-funds' (known: btc, custom"),
        ("bad_band_zero.yaml", "band", "must be between 1% and 20% of the portfolio, got 0%"),
        ("bad_band_fifty.yaml", "band", "must be between 1% and 20% of the portfolio, got 50%"),
        ("bad_weights_sum.yaml", "targets", "weights sum to 0.9, not 1"),
        ("bad_unknown_token.yaml", "targets.DOGE", "unknown token 'DOGE'"),
        ("bad_misspelt_key.yaml", "triggers.drawdown.stoploss", "unknown key"),
        ("bad_momentum.toml", "rules.momentum_factor", "less than or equal to 1"),
        ("bad_syntax.yaml", "<file>", "not valid YAML/TOML"),
        ("bad_correlation_without_cap.yaml", "rules.correlation_limit", "set max_weight below"),
    ],
)
def test_bad_strategy_files_name_the_key(file, key, problem):
    with pytest.raises(StrategyConfigError) as info:
        load_strategy(DATA / file)
    err = info.value
    assert err.key == key
    assert problem in str(err)
    assert f"config key '{key}'" in str(err) and file in str(err)
    assert isinstance(err, ConfigError) and isinstance(err, KeeperError)


def test_missing_file_is_a_config_error():
    with pytest.raises(StrategyConfigError, match="cannot read"):
        load_strategy(DATA / "does-not-exist.yaml")


def test_custom_preset_requires_a_band():
    with pytest.raises(StrategyConfigError, match="'band': required key is missing"):
        parse_strategy({"name": "x", "preset": "custom", "targets": {"WETH": 1.0}})


def test_sector_caps_are_checked_against_fixed_targets():
    raw = {
        "name": "x",
        "preset": "custom",
        "band": 0.05,
        "targets": {"WETH": 0.6, "USDC": 0.4},
        "rules": {"sector_caps": {"eth": "50%"}},
    }
    with pytest.raises(StrategyConfigError) as info:
        parse_strategy(raw)
    assert info.value.key == "rules.sector_caps.eth"
    assert "60% in sector 'eth', above its cap 50%" in str(info.value)


def test_a_toml_custom_strategy_with_its_own_token():
    cfg = load_strategy(DATA / "good_custom.toml")
    assert cfg.band == pytest.approx(0.075)
    assert cfg.frequency is Frequency.WEEKLY
    assert cfg.target_weights() == {"WETH": 0.5, "PEPE": 0.1, "USDC": 0.4}
    assert cfg.token_sector("PEPE") == "meme" and cfg.decimals("USDC") == 6
    assert cfg.rules.momentum_factor == -0.5


def test_presets_carry_the_product_document_numbers():
    vault = parse_strategy({"preset": "stablecoin-vault"})
    assert (vault.band, vault.frequency) == (0.10, Frequency.WEEKLY)
    opp = vault.triggers.opportunity
    assert (opp.enabled, opp.min_yield_gap, opp.min_liquidity_usd) == (True, 0.005, 1_000_000)
    assert (vault.costs.max_slippage, vault.costs.max_gas) == (0.001, 0.0001)
    index = parse_strategy({"preset": "index-fund"})
    assert (index.band, index.frequency) == (0.05, Frequency.MONTHLY)
    assert index.rules.tax_aware and index.rules.minimize_trades and index.model.phase_weeks == 4
    for name in ("btc", "eth"):
        cfg = parse_strategy({"preset": name})
        assert (cfg.band, cfg.frequency) == (0.07, Frequency.BIWEEKLY)
        comps = {k: (c.target, c.frequency.value) for k, c in cfg.components.items()}
        assert comps == {
            "native": (0.20, "monthly"),
            "wrapped": (0.40, "weekly"),
            "derivatives": (0.30, "daily"),
            "infrastructure": (0.10, "bi-weekly"),
        }


def test_a_file_overrides_preset_values_key_by_key():
    cfg = parse_strategy(
        {"preset": "stablecoin-vault", "triggers": {"opportunity": {"min_yield_gap": "1%"}}}
    )
    assert cfg.triggers.opportunity.min_yield_gap == 0.01
    assert cfg.triggers.opportunity.min_liquidity_usd == 1_000_000  # kept from the preset


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_strategy_validates(path):
    cfg = load_strategy(path)
    assert sum(cfg.target_weights().values()) == pytest.approx(1.0)


def test_the_example_cost_basis_loads_and_its_index_fund_counts_taxes():
    from keeper.strategy.tax import load_cost_basis

    cfg = load_strategy(EXAMPLES / "index-fund.yaml")
    assert cfg.rules.tax_aware and cfg.rules.cost_basis == "data/cost-basis.yaml"
    basis = load_cost_basis(EXAMPLES / cfg.rules.cost_basis)
    assert [lot.price_usd for lot in basis.lots["WETH"]] == [1800, 3500]
