"""A whole backtest study: every policy beside the baselines, at each portfolio size, with
costs, attribution, per-regime results and a walk-forward check of the tuned band.

Baselines are buy-and-hold, monthly and a 5 % threshold band on the study's targets (the
first strategy's configured targets, or ``--targets``, or equal weights). Each policy is run
twice per size: with the cost model and without it (the attribution's gross run).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from keeper.backtest.costs import (
    BENCH_NETTED_SHARE,
    CostModel,
    GasSeries,
    onchain_costs,
    proportional_costs,
)
from keeper.backtest.data import PriceTable
from keeper.backtest.exceptions import BacktestInputError
from keeper.backtest.policies import (
    BuyAndHold,
    Calendar,
    Policy,
    StrategyPolicy,
    Threshold,
    parse_policy,
)
from keeper.backtest.pools import PoolProfile, profiles_for
from keeper.backtest.regimes import RegimeCell, Window, classify_windows, regime_table
from keeper.backtest.result import Attribution, BacktestResult, attribution
from keeper.backtest.simulator import simulate
from keeper.backtest.sweep import impact_coefficients
from keeper.backtest.walkforward import WalkForward, walk_forward
from keeper.strategy.config import StrategyConfig

FloatArray = NDArray[np.float64]
BASELINES = ("buy-and-hold", "monthly", "threshold:5%")


@dataclass(frozen=True)
class CostSettings:
    """Which cost terms are on (each switchable) and their parameters."""

    gas: bool = True
    pools: bool = True
    mev: bool = True
    private: bool = True
    slippage: float = 0.005
    #: the keeper bench's measured share (costs.BENCH_NETTED_SHARE); 0 for a lone user
    netted: float = BENCH_NETTED_SHARE
    batch_users: float = 1.0
    liquidity_scale: float = 1.0
    #: a plain proportional fee instead of the system's costs (None: the system's costs)
    proportional: float | None = None
    gas_gwei: FloatArray | None = None
    #: pool profiles that replace the defaults (e.g. from a ``keeper quote --save`` snapshot)
    pool_profiles: dict[str, PoolProfile] | None = None


@dataclass
class PolicyRun:
    value: float
    name: str
    result: BacktestResult
    gross: BacktestResult
    attribution: Attribution | None = None


@dataclass
class Study:
    table: PriceTable
    targets: FloatArray
    values: list[float]
    costs: dict[float, CostModel]
    runs: list[PolicyRun] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    #: (value, policy) -> regime -> cell
    regimes: dict[tuple[float, str], dict[str, RegimeCell]] = field(default_factory=dict)
    walk: dict[float, WalkForward | None] = field(default_factory=dict)
    synthetic: bool = False
    explanations: dict[tuple[float, str], list[tuple[int, str]]] = field(default_factory=dict)

    def by_value(self, value: float) -> list[PolicyRun]:
        return [r for r in self.runs if r.value == value]


def cost_model(table: PriceTable, settings: CostSettings) -> CostModel:
    if settings.proportional is not None:
        return proportional_costs(settings.proportional)
    eth = table.column("WETH") if "WETH" in table.tokens else 3_000.0
    if settings.gas_gwei is not None:
        series = GasSeries(settings.gas_gwei, np.broadcast_to(eth, (table.bars,)).copy())
    else:
        series = GasSeries.default(table.bars, eth)
    profiles = profiles_for(table.tokens, settings.liquidity_scale)
    for token, prof in (settings.pool_profiles or {}).items():
        if token in profiles:
            profiles[token] = prof.scaled(settings.liquidity_scale)
    return onchain_costs(
        table.tokens,
        series,
        profiles,
        netted=settings.netted,
        private=settings.private,
        slippage=settings.slippage,
        batch_users=settings.batch_users,
        gas=settings.gas,
        pools=settings.pools,
        mev=settings.mev,
    )


def _policies(
    specs: list[str], targets: FloatArray, strategies: list[StrategyConfig]
) -> list[Callable[[], Policy]]:
    out: list[Callable[[], Policy]] = []
    names: set[str] = set()
    for spec in [*BASELINES, *specs]:
        pol = parse_policy(spec, targets)
        if pol.name not in names:
            names.add(pol.name)
            out.append(functools.partial(parse_policy, spec, targets))
    for cfg in strategies:
        out.append(functools.partial(StrategyPolicy, cfg))
    return out


def run_study(
    table: PriceTable,
    targets: FloatArray,
    values: list[float],
    settings: CostSettings,
    specs: list[str] = (),  # type: ignore[assignment]
    strategies: list[StrategyConfig] = (),  # type: ignore[assignment]
    regime_window: int = 90,
    progress: Callable[[int], None] | None = None,
    synthetic: bool = False,
) -> Study:
    if not values:
        raise BacktestInputError("--value", "give at least one portfolio value")
    model = cost_model(table, settings)
    free = CostModel((), "no costs")
    study = Study(table, targets, list(values), {v: model for v in values}, synthetic=synthetic)
    makers = _policies(list(specs), targets, list(strategies))
    study.windows = classify_windows(table, targets, regime_window)
    for value in values:
        hold: BacktestResult | None = None
        for make in makers:
            pol = make()
            res = simulate(table, pol, targets, value, model, progress=progress)
            gross = simulate(table, make(), targets, value, free)
            if isinstance(pol, StrategyPolicy):
                study.explanations[(value, pol.name)] = pol.explanations
            run = PolicyRun(value, pol.name, res, gross)
            if isinstance(pol, BuyAndHold):
                hold = gross
            if hold is not None:
                run.attribution = attribution(res, gross, hold)
            study.runs.append(run)
            if study.windows:
                study.regimes[(value, pol.name)] = regime_table(study.windows, res)
        study.walk[value] = _walk(table, targets, value, model, settings)
    return study


def _walk(
    table: PriceTable, targets: FloatArray, value: float, model: CostModel, settings: CostSettings
) -> WalkForward | None:
    """Walk-forward of the threshold band under the linearised cost model (sweep.py)."""
    from keeper.backtest.costs import SettlementGas

    fee = settings.proportional or 0.0
    gas = np.zeros(table.bars)
    impact = None
    held = np.flatnonzero(targets > 0)
    # a full rebalance: the first held token sold, every other held token bought
    full = np.zeros(len(targets))
    full[held] = 1.0
    full[held[0]] = -1.0
    for term in model.terms:
        if isinstance(term, SettlementGas):
            gas = np.array(
                [term.cost(t, table.tokens, full, table.prices[t]) for t in range(table.bars)]
            )
    if settings.proportional is None and settings.pools:
        profiles = profiles_for(table.tokens, settings.liquidity_scale)
        fee = float(np.mean([p.fee / 1e6 for p in profiles.values()])) if profiles else 0.0
        impact = impact_coefficients(profiles, table.tokens, table.prices[0], 0.05 * value)
    bands = np.round(np.arange(0.01, 0.2001, 0.01), 4)
    return walk_forward(table.prices, targets, bands, value, 0.05, fee, gas, impact)


def default_targets(table: PriceTable, given: dict[str, float] | None) -> FloatArray:
    if not given:
        return np.full(len(table.tokens), 1.0 / len(table.tokens))
    unknown = sorted(set(given) - set(table.tokens))
    if unknown:
        raise BacktestInputError("--targets", f"no prices for {', '.join(unknown)}")
    w = np.array([given.get(t, 0.0) for t in table.tokens])
    if abs(w.sum() - 1.0) > 1e-6:
        raise BacktestInputError("--targets", f"weights sum to {w.sum():g}, not 1")
    return w


__all__ = ["BASELINES", "Calendar", "CostSettings", "Study", "Threshold", "run_study"]
