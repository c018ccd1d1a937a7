"""``keeper backtest`` end to end on the synthetic generator: table, plots, HTML."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from keeper.backtest.costs import BENCH_NETTED_SHARE
from keeper.cli import cli

STRATEGY = """
name: two-coins
targets: {WBTC: 40%, WETH: 30%, USDC: 30%}
band: 5%
frequency: monthly
"""


def test_synthetic_backtest_writes_table_plots_and_report(tmp_path: Path) -> None:
    strategy = tmp_path / "s.yaml"
    strategy.write_text(STRATEGY)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "backtest",
            "--strategy",
            str(strategy),
            "--policy",
            "quarterly",
            "--days",
            "250",
            "--value",
            "10000",
            "--value",
            "1000000",
            "--regime-window",
            "60",
            "--out",
            str(out),
        ],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    text = result.output
    assert "SYNTHETIC generator" in text
    for name in ("buy-and-hold", "monthly", "threshold 5%", "quarterly", "two-coins"):
        assert name in text
    assert "$10,000 portfolio" in text and "$1,000,000 portfolio" in text
    assert "drift avoided" in text and "by regime" in text
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == sorted(
        f"{kind}-{v}.png"
        for kind in ("equity", "drawdown", "weights", "costs")
        for v in (10000, 1000000)
    )
    assert all((out / p).stat().st_size > 10_000 for p in pngs)
    page = (out / "report.html").read_text()
    assert page.count("<img") == 8
    assert "SYNTHETIC" in page and "sideways" in page and "two-coins" in page
    # without --netted, the keeper bench's measured netted share
    assert f"{BENCH_NETTED_SHARE:.0%} netted</p>" in page


def test_a_bad_price_file_is_one_line_without_traceback(tmp_path: Path) -> None:
    prices = tmp_path / "p.csv"
    prices.write_text("date,WBTC,WETH\n2024-01-01,1,2\n2024-01-02,1,x\n")
    result = CliRunner().invoke(cli, ["backtest", "--prices", str(prices)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: {prices}, row 3, column 'WETH': 'x' is not a number"
    ]
