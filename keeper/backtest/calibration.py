"""The evidence behind the presets' defaults (docs/BACKTESTS.md), reproducible:

    python -m keeper.backtest.calibration [--seeds 4] [--days 1825]

Every experiment replays seeded synthetic histories at $10k and $1M with the system's own
costs (settlement gas at the default gas distribution, V2/V3 pool execution, private relay)
and prints one table per experiment, averaged over the seeds: annualised return, log growth
per year, Sharpe, max drawdown, rebalances per year and costs paid (summed in USD over the
run, as a share of the starting value), beside the baselines (buy-and-hold, monthly,
threshold 5 % and 10 %).
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from keeper.backtest.costs import CostModel
from keeper.backtest.data import PriceTable
from keeper.backtest.policies import (
    BuyAndHold,
    Calendar,
    Policy,
    StrategyPolicy,
    Threshold,
    strategy_tokens,
)
from keeper.backtest.runner import CostSettings, cost_model
from keeper.backtest.simulator import simulate
from keeper.backtest.synthetic import synthetic_prices
from keeper.strategy.config import StrategyConfig, parse_strategy
from keeper.strategy.constants import KNOWN_TOKENS, RELATIVE_VOLATILITY_REGIMES, RegimeRule

SIZES = (10_000.0, 1_000_000.0)
#: band scale per volatility regime (low, medium, high, extreme)
BAND_DIRECTIONS = {
    "tighter when volatile": (1.25, 1.0, 0.8, 0.6),
    "flat": (1.0, 1.0, 1.0, 1.0),
    "wider when volatile": (0.8, 1.0, 1.25, 1.6),
}
PRESET_FILES: dict[str, dict[str, Any]] = {
    "index-fund": {"preset": "index-fund"},
    "btc": {"preset": "btc"},
    "eth": {"preset": "eth"},
}


def _components(preset: str, derivatives: str) -> dict[str, Any]:
    from keeper.strategy.presets import PRESETS

    comps = {k: dict(v) for k, v in PRESETS[preset]["components"].items()}
    comps["derivatives"]["frequency"] = derivatives
    return comps


#: alternatives to a preset's defaults, tried beside it (name suffix -> overrides)
PRESET_VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "btc": {
        "band 10%": {"band": 0.10},
        "band 10%, derivatives weekly": {"band": 0.10, "components": _components("btc", "weekly")},
    },
    "eth": {
        "band 10%": {"band": 0.10},
        "band 10%, derivatives weekly": {"band": 0.10, "components": _components("eth", "weekly")},
    },
    "index-fund": {"band 10%": {"band": 0.10}},
}


def _table(cfg: StrategyConfig, seed: int, days: int) -> PriceTable:
    tokens = strategy_tokens(cfg)
    stable = {t for t in tokens if t in KNOWN_TOKENS and KNOWN_TOKENS[t].stable}
    risky = tuple(t for t in tokens if t not in stable)
    return synthetic_prices(days, seed, risky).select(tokens, stable)


def _row(results: list[tuple[float, Any]]) -> dict[str, float]:
    """Mean metrics over seeds: (starting value, BacktestResult) pairs."""
    ann, growth, sharpe, mdd, rebal, cost = [], [], [], [], [], []
    for value, r in results:
        m = r.metrics
        ann.append(m.annual_return)
        growth.append(float(np.log(r.final_value / value)) / r.years)
        sharpe.append(m.sharpe)
        mdd.append(m.max_drawdown)
        rebal.append(r.rebalances / r.years)
        cost.append(r.total_cost / value)
    return {
        "annual": float(np.mean(ann)),
        "growth": float(np.mean(growth)),
        "sharpe": float(np.mean(sharpe)),
        "max_dd": float(np.mean(mdd)),
        "rebal_per_year": float(np.mean(rebal)),
        "costs": float(np.mean(cost)),
    }


def compare(
    cfg: StrategyConfig,
    seeds: range,
    days: int,
    extra: dict[str, Callable[[np.ndarray], Policy]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[float, dict[str, dict[str, float]]]:
    """size -> policy -> mean metrics, for the strategy and the baselines on its targets."""
    from keeper.strategy.targets import model_targets

    out: dict[float, dict[str, dict[str, float]]] = {}
    for value in SIZES:
        runs: dict[str, list[tuple[float, Any]]] = {}
        for seed in seeds:
            table = _table(cfg, seed, days)
            given, _ = model_targets(cfg, (), None)
            w = np.array([given.get(t, 0.0) for t in table.tokens])
            model: CostModel = cost_model(
                table, CostSettings(netted=0.0)
            )  # a lone user (docs/BACKTESTS.md)
            makers: dict[str, Callable[[], Policy]] = {
                "buy-and-hold": functools.partial(BuyAndHold, w),
                "monthly": functools.partial(Calendar, w, "monthly"),
                "threshold 5%": functools.partial(Threshold, w, 0.05),
                "threshold 10%": functools.partial(Threshold, w, 0.10),
                cfg.name: functools.partial(StrategyPolicy, cfg),
            }
            for name, make in (extra or {}).items():
                makers[name] = functools.partial(make, w)
            for name, mk in makers.items():
                runs.setdefault(name, []).append((value, simulate(table, mk(), w, value, model)))
            if progress:
                progress(f"{cfg.name} ${value:,.0f} seed {seed}")
        out[value] = {name: _row(rs) for name, rs in runs.items()}
    return out


def _variant(cfg: StrategyConfig, targets: np.ndarray) -> Policy:
    return StrategyPolicy(cfg)


@contextmanager
def band_scales(scales: tuple[float, float, float, float]) -> Iterator[None]:
    """Temporarily set the relative volatility regimes' band scales (an experiment knob)."""
    saved = dict(RELATIVE_VOLATILITY_REGIMES)
    for (regime, rule), scale in zip(saved.items(), scales, strict=True):
        RELATIVE_VOLATILITY_REGIMES[regime] = RegimeRule(rule.level, rule.frequency, scale)
    try:
        yield
    finally:
        RELATIVE_VOLATILITY_REGIMES.update(saved)


def volatility_direction(
    seeds: range, days: int, progress: Callable[[str], None] | None = None
) -> dict[str, dict[float, dict[str, float]]]:
    """The band-scale direction of the volatility regimes, on a 40/30/30 WBTC/WETH/USDC
    strategy with a 7 % band checked bi-weekly (the BTC/ETH presets' band and cadence)."""
    out: dict[str, dict[float, dict[str, float]]] = {}
    for label, scales in BAND_DIRECTIONS.items():
        cfg = parse_strategy(
            {
                "name": label,
                "targets": {"WBTC": 0.4, "WETH": 0.3, "USDC": 0.3},
                "band": 0.07,
                "frequency": "bi-weekly",
                "triggers": {"volatility": {"enabled": True}},
            }
        )
        with band_scales(scales):
            res = compare(cfg, seeds, days, progress=progress)
        for value, rows in res.items():
            out.setdefault("baselines", {})[value] = rows["monthly"]
            out.setdefault(label, {})[value] = rows[label]
    return out


def _print(title: str, rows: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    print("| policy | annual | log growth/yr | Sharpe | max DD | rebalances/yr | costs paid |")
    print("|---|---|---|---|---|---|---|")
    for name, m in rows.items():
        print(
            f"| {name} | {m['annual'] * 100:+.1f}% | {m['growth'] * 100:+.1f}% "
            f"| {m['sharpe']:.2f} | {m['max_dd'] * 100:.1f}% "
            f"| {m['rebal_per_year']:.1f} | {m['costs'] * 100:.2f}% |"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--days", type=int, default=1825)
    parser.add_argument("--only", choices=["volatility", "presets"], default=None)
    args = parser.parse_args(argv)
    seeds = range(1, args.seeds + 1)
    note = lambda s: print(f"  ... {s}", file=sys.stderr, flush=True)  # noqa: E731
    print(f"seeds {seeds.start}..{seeds.stop - 1}, {args.days} days each, costs: system's own")
    if args.only in (None, "volatility"):
        res = volatility_direction(seeds, args.days, note)
        for value in SIZES:
            _print(
                f"volatility regimes' band direction, ${value:,.0f} (baseline: monthly)",
                {label: rows[value] for label, rows in res.items()},
            )
    if args.only in (None, "presets"):
        for name, doc in PRESET_FILES.items():
            cfg = parse_strategy(doc)
            variants: dict[str, Callable[[np.ndarray], Policy]] = {
                f"{cfg.name}, {label}": functools.partial(
                    _variant, parse_strategy({**doc, **over, "name": f"{cfg.name}, {label}"})
                )
                for label, over in PRESET_VARIANTS.get(name, {}).items()
            }
            res2 = compare(cfg, seeds, args.days, variants, progress=note)
            for value, rows in res2.items():
                _print(f"preset {name}, ${value:,.0f}", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
