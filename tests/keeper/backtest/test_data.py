"""Price files: both layouts read, and every malformed file names its row and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from keeper.backtest.data import read_prices, write_prices
from keeper.backtest.exceptions import PriceDataError
from keeper.backtest.synthetic import synthetic_prices


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prices.csv"
    path.write_text(text)
    return path


def test_reads_the_wide_layout(tmp_path: Path) -> None:
    t = read_prices(
        _write(tmp_path, "date,WBTC,WETH\n2024-01-01,40000,2000\n2024-01-02,41000,2100\n")
    )
    assert t.tokens == ("WBTC", "WETH")
    assert t.prices.tolist() == [[40000, 2000], [41000, 2100]]
    assert t.day(1) == "2024-01-02"


def test_reads_the_long_layout_into_the_same_table(tmp_path: Path) -> None:
    text = (
        "date,token,close\n2024-01-01,WBTC,40000\n2024-01-01,WETH,2000\n"
        "2024-01-02,WETH,2100\n2024-01-02,WBTC,41000\n"
    )
    t = read_prices(_write(tmp_path, text))
    assert t.tokens == ("WBTC", "WETH")
    assert t.prices.tolist() == [[40000, 2000], [41000, 2100]]


def test_a_written_table_reads_back(tmp_path: Path) -> None:
    table = synthetic_prices(days=30, seed=3)
    write_prices(table, tmp_path / "p.csv")
    back = read_prices(tmp_path / "p.csv")
    assert back.tokens == table.tokens
    np.testing.assert_allclose(back.prices, table.prices, rtol=1e-9)


@pytest.mark.parametrize(
    ("text", "row", "column", "words"),
    [
        ("day,WETH\n2024-01-01,1\n", 1, "date", "missing column"),
        ("date,WBTC,WETH\n2024-01-01,1,2\n2024-01-02,1\n", 3, "WETH", "missing column"),
        ("date,WETH\n2024-01-01,2000\n2024-01-02,abc\n", 3, "WETH", "'abc' is not a number"),
        ("date,WETH\n2024-01-01,2000\n2024-01-02,\n", 3, "WETH", "empty cell"),
        ("date,WETH\n2024-01-01,2000\n2024-01-02,-5\n", 3, "WETH", "not a positive price"),
        ("date,WETH\n2024-01-01,2000\n2024-01-01,2001\n", 3, "date", "duplicate date"),
        ("date,WETH\n2024-01-02,2000\n2024-01-01,2001\n", 3, "date", "out of order"),
        ("date,WETH\n2024-13-01,2000\n", 2, "date", "not a date"),
        (
            "date,WETH\n2024-01-01,1\n2024-01-02,1\n2024-01-03,1\n2024-01-07,1\n",
            5,
            "date",
            "gap between row 4 (2024-01-03) and row 5 (2024-01-07): 3 bar(s) missing",
        ),
        (
            "date,token,close\n2024-01-01,WETH,1\n2024-01-01,WBTC,2\n2024-01-02,WETH,1\n",
            4,
            "close",
            "no WBTC close on 2024-01-02",
        ),
        ("date,token,close\n2024-01-01,WETH,1\n2024-01-01,WETH,2\n", 3, "date", "duplicate date"),
    ],
)
def test_a_bad_file_names_row_and_column(
    tmp_path: Path, text: str, row: int, column: str, words: str
) -> None:
    with pytest.raises(PriceDataError) as err:
        read_prices(_write(tmp_path, text))
    assert err.value.row == row
    assert err.value.column == column
    assert words in str(err.value)
    assert f"row {row}, column '{column}'" in str(err.value)


def test_gaps_are_reported_and_never_filled_when_allowed(tmp_path: Path) -> None:
    text = "date,WETH\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n2024-01-07,4\n"
    t = read_prices(_write(tmp_path, text), allow_gaps=True)
    assert t.bars == 4  # nothing inserted
    assert [str(g) for g in t.gaps] == [
        "gap between row 4 (2024-01-03) and row 5 (2024-01-07): 3 bar(s) missing"
    ]


def test_the_generator_is_seeded_and_crypto_like() -> None:
    a = synthetic_prices(days=3650, seed=5)
    b = synthetic_prices(days=3650, seed=5)
    assert np.array_equal(a.prices, b.prices)
    r = np.diff(np.log(a.prices), axis=0)
    vol = r.std(axis=0) * np.sqrt(365)
    corr = np.corrcoef(r.T)[0, 1]
    assert 0.45 < vol[0] < 0.9 and 0.55 < vol[1] < 1.1  # BTC-like, ETH-like
    assert 0.6 < corr < 0.95
    kurt = ((r - r.mean(0)) ** 4).mean(0) / r.var(0) ** 2
    assert (kurt > 4).all()  # fat tails from regimes and jumps
    assert a.labels is not None and set(a.labels) == {"bull", "bear", "sideways", "high-vol"}


def test_wrapped_and_staked_tokens_follow_their_base() -> None:
    t = synthetic_prices(days=365, seed=1, tokens=("WETH", "stETH", "wstETH", "WBTC", "BTC"))
    np.testing.assert_allclose(t.column("stETH"), t.column("WETH"))
    np.testing.assert_allclose(t.column("BTC"), t.column("WBTC"))
    ratio = t.column("wstETH") / t.column("WETH")
    assert ratio[-1] / ratio[0] == pytest.approx(np.exp(0.03))  # a year of staking yield
