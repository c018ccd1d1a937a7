"""``keeper history import FILE.csv``: fill the live keeper's price-history store from a file.

The live models (volatility and market regimes, covariance, Kelly and the other allocation
models) read daily closes from the strategy's SQLite history (``history.path``, see
``keeper.strategy.live.history``); a fresh install has none and falls back to defaults ("not enough
price history"). This command loads the closes of a price CSV — the backtester's schema and
checks (``keeper.backtest.data``): a bad row is an error naming its row and column — into
that store, one close per token per UTC day. A close is stamped at the end of its UTC day
(23:59:59), so a sample the keeper records later that day replaces it. The history must reach
up to the last few days (``history.max_gap_days``): the keeper cuts a series at a longer gap.
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from keeper.exceptions import ConfigError

_END_OF_DAY = 86_399


@click.group("history")
def history() -> None:
    """The daily price history the strategy models read."""


@history.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False))
@click.option(
    "--history", "history_file", help="History SQLite file (default: the strategy's history.path)."
)
@click.option(
    "--strategy",
    "strategy_file",
    type=click.Path(dir_okay=False),
    help="Strategy whose history.path to fill.",
)
@click.option(
    "--chain-id", default=1, show_default=True, type=int, help="Chain the prices belong to."
)
@click.option(
    "--allow-gaps",
    is_flag=True,
    help="Import a file with gaps (the keeper fills gaps of up to history.max_gap_days).",
)
def import_prices(
    csv_file: str,
    history_file: str | None,
    strategy_file: str | None,
    chain_id: int,
    allow_gaps: bool,
) -> None:
    """Load daily closes from CSV_FILE (date + one column per token, or date,token,close)."""
    from keeper.backtest.data import read_prices
    from keeper.strategy.live.history import PriceHistory

    if history_file is None and strategy_file is None:
        raise ConfigError("--history", "give --history FILE or --strategy FILE (its history.path)")
    max_gap = 3
    if history_file is None:
        from keeper.strategy.config import load_strategy

        assert strategy_file is not None
        cfg = load_strategy(strategy_file)
        if cfg.history.path is None:
            raise ConfigError(
                "history.path", f"{strategy_file} names no history file; give --history"
            )
        path = Path(strategy_file).parent / cfg.history.path
        max_gap = cfg.history.max_gap_days
    else:
        path = Path(history_file)
    table = read_prices(csv_file, allow_gaps=allow_gaps, bar_s=86_400)  # daily closes
    days = table.dates.astype("datetime64[D]").astype("datetime64[s]").astype(np.int64)
    if len(np.unique(days)) != len(days):
        raise ConfigError("csv", "more than one bar per UTC day: the history keeps daily closes")
    store = PriceHistory(path, chain_id, max_gap)
    closes = (
        (token, int(day) + _END_OF_DAY, float(p))
        for t, day in enumerate(days)
        for token, p in zip(table.tokens, table.prices[t], strict=True)
    )
    written = store.record_closes(closes)
    click.echo(
        f"imported {written} close(s) of {', '.join(table.tokens)} from {table.day(0)} to "
        f"{table.day(table.bars - 1)} into {path} (chain {chain_id})"
    )
    for gap in table.gaps:
        click.echo(f"note: {gap} (the keeper fills gaps of up to {max_gap} days, cuts longer ones)")
