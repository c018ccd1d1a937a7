"""PNG plots of a study (matplotlib, Agg backend: no display needed).

One figure per portfolio size and kind: equity curves (log scale, rebalance markers),
drawdowns, weights over time (one panel per policy), and costs by kind. Axes, units and
legends are labelled.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from keeper.backtest.costs import KINDS

if TYPE_CHECKING:
    from keeper.backtest.runner import Study


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _size(value: float) -> str:
    return f"${value / 1e6:g}M" if value >= 1e6 else f"${value / 1e3:g}k"


def _dates(study: Study) -> Any:
    return study.table.dates.astype("datetime64[D]").astype("O")


def plot_study(study: Study, out: Path) -> list[Path]:
    plt = _plt()
    paths = []
    x = _dates(study)
    for value in study.values:
        runs = study.by_value(value)
        tag = _size(value)
        slug = f"{int(value)}"

        fig, ax = plt.subplots(figsize=(11, 5.5))
        for run in runs:
            (line,) = ax.plot(x, run.result.values, label=run.name, lw=1.3)
            bars = run.result.rebalance_bars
            if 0 < len(bars) <= 400:
                ax.plot(
                    [x[b] for b in bars],
                    run.result.values[bars],
                    "|",
                    ms=6,
                    color=line.get_color(),
                )
        ax.set_yscale("log")
        ax.set_title(f"Portfolio value, {tag} start, costs: {study.costs[value].label}")
        ax.set_xlabel("date")
        ax.set_ylabel("portfolio value (USD, log scale); | = rebalance")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=9)
        paths.append(_save(fig, out / f"equity-{slug}.png", plt))

        fig, ax = plt.subplots(figsize=(11, 4.5))
        for run in runs:
            dd = 1.0 - run.result.values / np.maximum.accumulate(run.result.values)
            ax.plot(x, -100 * dd, label=run.name, lw=1.0)
        ax.set_title(f"Drawdown from the running peak, {tag} start")
        ax.set_xlabel("date")
        ax.set_ylabel("drawdown (%)")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left", fontsize=9)
        paths.append(_save(fig, out / f"drawdown-{slug}.png", plt))

        n = len(runs)
        fig, axes = plt.subplots(n, 1, figsize=(11, 1.9 * n + 0.8), sharex=True, squeeze=False)
        for ax, run in zip(axes[:, 0], runs, strict=True):
            w = run.result.weights * 100
            ax.stackplot(x, w.T, labels=list(study.table.tokens), alpha=0.85)
            bars = run.result.rebalance_bars
            if 0 < len(bars) <= 400:  # one collection, not a line object per rebalance
                ax.vlines([x[b] for b in bars], 0, 100, color="k", lw=0.3, alpha=0.4)
            ax.set_ylim(0, 100)
            ax.set_ylabel("weight (%)")
            ax.set_title(f"{run.name}: {run.result.rebalances} rebalances", fontsize=9, loc="left")
        axes[0, 0].legend(loc="upper right", fontsize=8, ncol=len(study.table.tokens))
        axes[-1, 0].set_xlabel("date")
        fig.suptitle(f"Weights over time (lines = rebalances), {tag} start")
        paths.append(_save(fig, out / f"weights-{slug}.png", plt))

        fig, ax = plt.subplots(figsize=(11, 4.5))
        names = [r.name for r in runs]
        bottom = np.zeros(n)
        for kind in KINDS:
            vals = np.array([r.result.costs_by_kind[kind] for r in runs])
            ax.bar(names, vals, bottom=bottom, label=kind)
            bottom += vals
        ax.set_title(f"Costs paid over the backtest by kind, {tag} start")
        ax.set_xlabel("policy")
        ax.set_ylabel("USD paid")
        ax.legend(fontsize=9)
        ax.tick_params(axis="x", labelrotation=20)
        paths.append(_save(fig, out / f"costs-{slug}.png", plt))
    return paths


def _save(fig: Any, path: Path, plt: Any) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
