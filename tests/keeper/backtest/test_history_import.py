"""`keeper history import` fills the store the live models read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from keeper.backtest.data import write_prices
from keeper.backtest.synthetic import synthetic_prices
from keeper.cli import cli
from keeper.strategy.live.history import PriceHistory


def test_imported_closes_are_what_the_models_read(tmp_path: Path) -> None:
    table = synthetic_prices(days=59, seed=2, stable=("USDC",), start="2026-01-01")
    write_prices(table, tmp_path / "p.csv")
    db = tmp_path / "h.db"
    args = ["history", "import", str(tmp_path / "p.csv"), "--history", str(db)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"imported 180 close(s) of WBTC, WETH, USDC from 2026-01-01 to 2026-03-01 into {db} "
        "(chain 1)"
    )
    closes = PriceHistory(db, 1).daily_prices(["WBTC", "WETH", "USDC"])
    np.testing.assert_allclose(closes, table.prices, rtol=1e-9)
    # importing again leaves the same closes; a live sample of the last day replaces its close
    assert CliRunner().invoke(cli, args).exit_code == 0
    np.testing.assert_allclose(PriceHistory(db, 1).daily_prices(["WBTC"])[:, 0], table.prices[:, 0])
    last_day = int(table.dates[-1].astype("datetime64[s]").astype(np.int64))
    PriceHistory(db, 1).record({"WBTC": 1.0}, last_day + 86_399)  # same second: replaces
    assert PriceHistory(db, 1).daily_prices(["WBTC"])[-1, 0] == 1.0


def test_import_needs_a_destination_and_a_good_file(tmp_path: Path) -> None:
    bad = tmp_path / "p.csv"
    bad.write_text("date,WETH\n2026-01-01,1\n2026-01-01,2\n")
    out = CliRunner().invoke(cli, ["history", "import", str(bad)])
    assert out.exit_code == 1
    assert "--history" in out.output
    out = CliRunner().invoke(cli, ["history", "import", str(bad), "--history", str(tmp_path / "h")])
    assert out.exit_code == 1
    assert out.output.strip() == (
        f"error: {bad}, row 3, column 'date': duplicate date: 2026-01-01 after 2026-01-01 (row 2)"
    )


def test_a_missing_day_is_a_gap_even_in_a_two_row_file(tmp_path: Path) -> None:
    """The history keeps daily closes: a missed day is a gap whatever the file's own spacing
    (a two-row file has no 'usual' step to compare with), refused unless --allow-gaps."""
    gap = tmp_path / "gap.csv"
    gap.write_text("date,WETH\n2026-01-01,3000\n2026-01-10,3100\n")
    args = ["history", "import", str(gap), "--history", str(tmp_path / "h.db")]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 1
    assert out.output.startswith(
        f"error: {gap}, row 3, column 'date': gap between row 2 (2026-01-01) and row 3 "
        "(2026-01-10): 8 bar(s) missing; gaps are never filled in"
    )
    allowed = CliRunner().invoke(cli, [*args, "--allow-gaps"])
    assert allowed.exit_code == 0, allowed.output
    assert "note: gap between row 2 (2026-01-01) and row 3 (2026-01-10)" in allowed.output
    ok = tmp_path / "ok.csv"
    ok.write_text("date,WETH\n2026-01-01,3000\n2026-01-02,3100\n")
    fine = CliRunner().invoke(cli, ["history", "import", str(ok), "--history", str(tmp_path / "o")])
    assert fine.exit_code == 0 and "note:" not in fine.output, fine.output
