"""``keeper backtest``: replay prices through policies and strategy files, with real costs.

With no ``--prices`` the seeded synthetic generator is used, and the output says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
import numpy as np

from keeper.backtest.exceptions import BacktestInputError

if TYPE_CHECKING:
    from keeper.backtest.pools import PoolProfile


def _targets(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, raw = part.partition("=")
        if not sep or not name.strip():
            raise BacktestInputError("--targets", f"'{part}' is not TOKEN=WEIGHT")
        try:
            w = float(raw[:-1]) / 100 if raw.strip().endswith("%") else float(raw)
        except ValueError:
            raise BacktestInputError("--targets", f"'{raw}' is not a weight (0.3 or 30%)") from None
        out[name.strip()] = w
    return out


def _gas_series(path: str, table: object) -> np.ndarray:
    """A gas-price CSV ``date,gwei`` aligned to the price table's bars (exact dates)."""
    from keeper.backtest.data import PriceTable, read_prices

    assert isinstance(table, PriceTable)
    gas = read_prices(path, allow_gaps=True)
    if len(gas.tokens) != 1:
        raise BacktestInputError("--gas-prices", "expected two columns: date,gwei")
    days = {
        str(d.astype("datetime64[D]")): float(g)
        for d, g in zip(gas.dates, gas.prices[:, 0], strict=True)
    }
    out = np.empty(table.bars)
    for t in range(table.bars):
        day = table.day(t)
        if day not in days:
            raise BacktestInputError(
                "--gas-prices", f"no gas price for {day} (the price file has that bar)"
            )
        out[t] = days[day]
    return out


@click.command("backtest")
@click.option(
    "--prices",
    "prices_path",
    type=click.Path(dir_okay=False),
    help="Price CSV (date + one close column per token, or date,token,close). "
    "Default: the synthetic generator.",
)
@click.option(
    "--strategy",
    "strategy_paths",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Strategy file(s) run through the live engine.",
)
@click.option(
    "--policy",
    "policies",
    multiple=True,
    help="buy-and-hold, weekly, monthly, quarterly, threshold:5% (baselines always run).",
)
@click.option("--from", "start", help="First date (YYYY-MM-DD).")
@click.option("--to", "end", help="Last date (YYYY-MM-DD).")
@click.option(
    "--value",
    "values",
    multiple=True,
    type=float,
    help="Starting portfolio value in USD (repeat for several sizes; default 10000 and 1000000).",
)
@click.option(
    "--targets",
    help="Target weights for the baselines, e.g. WBTC=0.5,WETH=0.5 "
    "(default: the first strategy's, else equal).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Folder for the PNG plots and report.html.",
)
@click.option(
    "--costs",
    "cost_mode",
    default="onchain",
    show_default=True,
    help="onchain (settlement gas, pools, MEV) or proportional:0.1%.",
)
@click.option("--no-gas", is_flag=True, help="Switch off settlement gas.")
@click.option("--no-pools", is_flag=True, help="Switch off LP fees and price impact.")
@click.option(
    "--public",
    is_flag=True,
    help="Send through the public mempool: lose the slippage tolerance to MEV.",
)
@click.option(
    "--slippage",
    default=0.005,
    show_default=True,
    type=float,
    help="Slippage tolerance (fraction) when public.",
)
@click.option(
    "--netted",
    default=None,
    type=click.FloatRange(0, 1),
    help="Share of the flow netted against other users [default: the share the keeper bench "
    "measured on its 20-user rebalance, docs/BACKTESTS.md; 0: a lone user].",
)
@click.option(
    "--batch-users",
    default=1.0,
    show_default=True,
    type=click.FloatRange(1, 10_000),
    help="Users sharing one settlement's fixed gas.",
)
@click.option(
    "--liquidity-scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(1e-6, 1e6),
    help="Multiply the default pool depths.",
)
@click.option(
    "--gas-prices",
    "gas_path",
    type=click.Path(dir_okay=False),
    help="Gas price CSV date,gwei (default: lognormal, median 10 gwei).",
)
@click.option(
    "--pools",
    "pools_path",
    type=click.Path(dir_okay=False),
    help="Pool snapshot (keeper quote --save FILE): its pools against USDC replace the default "
    "profiles.",
)
@click.option(
    "--allow-gaps", is_flag=True, help="Keep data gaps (reported, never filled) instead of failing."
)
@click.option("--seed", default=7, show_default=True, type=int, help="Synthetic generator seed.")
@click.option(
    "--days",
    default=3650,
    show_default=True,
    type=click.IntRange(30, 100_000),
    help="Synthetic bars.",
)
@click.option(
    "--regime-window",
    default=90,
    show_default=True,
    type=click.IntRange(10, 10_000),
    help="Bars per regime window.",
)
def backtest(
    prices_path: str | None,
    strategy_paths: tuple[str, ...],
    policies: tuple[str, ...],
    start: str | None,
    end: str | None,
    values: tuple[float, ...],
    targets: str | None,
    out_dir: str | None,
    cost_mode: str,
    no_gas: bool,
    no_pools: bool,
    public: bool,
    slippage: float,
    netted: float | None,
    batch_users: float,
    liquidity_scale: float,
    gas_path: str | None,
    pools_path: str | None,
    allow_gaps: bool,
    seed: int,
    days: int,
    regime_window: int,
) -> None:
    """Replay prices through the baselines, policies and strategy files, with real costs."""
    from rich.console import Console
    from rich.progress import Progress

    from keeper.backtest.costs import BENCH_NETTED_SHARE
    from keeper.backtest.data import read_prices
    from keeper.backtest.plots import plot_study
    from keeper.backtest.policies import strategy_tokens
    from keeper.backtest.report import print_study, write_html
    from keeper.backtest.runner import CostSettings, default_targets, run_study
    from keeper.backtest.synthetic import synthetic_prices
    from keeper.strategy.config import load_strategy
    from keeper.strategy.constants import KNOWN_TOKENS

    console = Console()
    strategies = [load_strategy(p) for p in strategy_paths]
    tokens: list[str] = []
    for cfg in strategies:
        tokens += [t for t in strategy_tokens(cfg) if t not in tokens]
    stable = {t for t in tokens if t in KNOWN_TOKENS and KNOWN_TOKENS[t].stable}
    for cfg in strategies:
        stable |= {t for t, d in cfg.tokens.items() if d.stable}
    synthetic = prices_path is None
    if prices_path is None:
        risky = [t for t in tokens if t not in stable] or ["WBTC", "WETH"]
        table = synthetic_prices(days=days, seed=seed, tokens=tuple(risky))
        console.print(
            f"[bold]no --prices: using the SYNTHETIC generator (seed {seed}, {days} days)[/bold]"
        )
    else:
        table = read_prices(prices_path, allow_gaps=allow_gaps)
    table = table.between(start, end)
    if tokens:
        table = table.select(tokens, stable)
    given = _targets(targets)
    if given is None and strategies:
        from keeper.strategy.targets import model_targets

        # the model's targets without history (market-cap weights; configured otherwise)
        given, _ = model_targets(strategies[0], (), None)
    w = default_targets(table, given)
    settings = CostSettings(
        gas=not no_gas,
        pools=not no_pools,
        private=not public,
        slippage=slippage,
        netted=BENCH_NETTED_SHARE if netted is None else netted,
        batch_users=batch_users,
        liquidity_scale=liquidity_scale,
        proportional=_proportional(cost_mode),
        gas_gwei=_gas_series(gas_path, table) if gas_path else None,
        pool_profiles=_snapshot_profiles(pools_path) if pools_path else None,
    )
    sizes = list(values) or [10_000.0, 1_000_000.0]
    n_runs = len(sizes) * (3 + len(policies) + len(strategies))
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("replaying", total=n_runs * table.bars)
        study = run_study(
            table,
            w,
            sizes,
            settings,
            list(policies),
            strategies,
            regime_window,
            progress=lambda k: bar.advance(task, k),
            synthetic=synthetic,
        )
    print_study(study, console)
    if out_dir:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        images = plot_study(study, out)
        page = write_html(study, out, images)
        console.print(f"plots: {', '.join(p.name for p in images)}")
        console.print(f"report: {page}")


def _snapshot_profiles(path: str) -> dict[str, PoolProfile]:
    from keeper.backtest.pools import profiles_from_snapshot
    from keeper.routing.snapshot import Snapshot

    return profiles_from_snapshot(Snapshot.load(path))


def _proportional(mode: str) -> float | None:
    text = mode.strip().lower()
    if text == "onchain":
        return None
    kind, _, arg = text.partition(":")
    if kind == "proportional" and arg:
        try:
            return float(arg[:-1]) / 100 if arg.endswith("%") else float(arg)
        except ValueError:
            pass
    raise BacktestInputError("--costs", f"'{mode}' is not 'onchain' or 'proportional:0.1%'")
