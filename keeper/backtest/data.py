"""Price tables: closes per bar and token, from a CSV file (two layouts) or the generator.

The CSV schema (docs/BACKTESTS.md):

* **wide**: a header ``date,<TOKEN>,<TOKEN>,...`` then one row per bar: the bar's date
  (``YYYY-MM-DD``, or ``YYYY-MM-DDTHH:MM[:SS]`` for intraday bars, UTC) and the USD close of
  each token;
* **long**: a header ``date,token,close`` (``symbol`` and ``price`` are accepted too), one row
  per bar and token.

Dates must be strictly increasing (wide) and unique per token (long). Every cell must be a
positive number. A bar spacing that is more than 1.5 times the file's usual spacing is a gap:
by default an error naming the rows; with ``allow_gaps`` the table keeps the gap (returns span
it) and lists it in :attr:`PriceTable.gaps`. Nothing is ever filled in.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from keeper.backtest.exceptions import PriceDataError

FloatArray = NDArray[np.float64]
_DATE = ("date", "time", "timestamp")
_TOKEN = ("token", "symbol")
_CLOSE = ("close", "price")
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Gap:
    """Bars missing between two rows of the file (rows as numbered in the file, 1 = header)."""

    after_row: int
    before_row: int
    start: str
    end: str
    missing_bars: int

    def __str__(self) -> str:
        return (
            f"gap between row {self.after_row} ({self.start}) and row {self.before_row} "
            f"({self.end}): {self.missing_bars} bar(s) missing"
        )


@dataclass(frozen=True)
class PriceTable:
    """USD closes ``prices[t, i]`` of ``tokens[i]`` at ``dates[t]`` (datetime64[s], UTC)."""

    dates: NDArray[np.datetime64]
    tokens: tuple[str, ...]
    prices: FloatArray
    gaps: tuple[Gap, ...] = ()
    source: str = "prices"
    #: the generator's regime label per bar (synthetic tables only)
    labels: tuple[str, ...] | None = field(default=None, repr=False)

    @property
    def bars(self) -> int:
        return int(self.prices.shape[0])

    @property
    def bar_seconds(self) -> float:
        """The usual spacing of bars (median), in seconds."""
        if self.bars < 2:
            return float(SECONDS_PER_DAY)
        return float(np.median(np.diff(self.dates).astype("timedelta64[s]").astype(np.float64)))

    @property
    def periods_per_year(self) -> float:
        return 365.0 * SECONDS_PER_DAY / self.bar_seconds

    @property
    def years(self) -> float:
        span = (self.dates[-1] - self.dates[0]).astype("timedelta64[s]").astype(np.float64)
        return float(span) / (365.0 * SECONDS_PER_DAY)

    def day(self, t: int) -> str:
        return str(self.dates[t].astype("datetime64[D]"))

    def column(self, token: str) -> FloatArray:
        return self.prices[:, self.tokens.index(token)]

    def select(
        self, tokens: list[str] | tuple[str, ...], stable: set[str] | None = None
    ) -> PriceTable:
        """The columns of ``tokens`` in that order; a stablecoin absent from the file (named in
        ``stable``) is priced at $1 on every bar."""
        cols = []
        for t in tokens:
            if t in self.tokens:
                cols.append(self.column(t))
            elif stable and t in stable:
                cols.append(np.ones(self.bars))
            else:
                raise PriceDataError(self.source, None, t, "no such column in the price data")
        return PriceTable(
            self.dates, tuple(tokens), np.column_stack(cols), self.gaps, self.source, self.labels
        )

    def between(self, start: str | None, end: str | None) -> PriceTable:
        """Bars with ``start <= date <= end`` (dates as ``YYYY-MM-DD``; None: open)."""
        lo = 0 if start is None else int(np.searchsorted(self.dates, _date(start, "--from")))
        hi = (
            self.bars
            if end is None
            else int(
                np.searchsorted(self.dates, _date(end, "--to") + np.timedelta64(1, "D"), "left")
            )
        )
        if hi - lo < 2:
            raise PriceDataError(
                self.source, None, None, f"fewer than 2 bars between {start} and {end}"
            )
        labels = None if self.labels is None else self.labels[lo:hi]
        return PriceTable(
            self.dates[lo:hi], self.tokens, self.prices[lo:hi], self.gaps, self.source, labels
        )


def _date(text: str, what: str) -> np.datetime64:
    try:
        return np.datetime64(text.strip().replace("Z", ""), "s")
    except ValueError:
        raise PriceDataError(what, None, None, f"'{text}' is not a date (YYYY-MM-DD)") from None


def _parse_date(text: str, source: str, row: int, column: str) -> np.datetime64:
    raw = text.strip()
    if not raw:
        raise PriceDataError(source, row, column, "empty date")
    try:
        return np.datetime64(raw.replace("Z", ""), "s")
    except ValueError:
        raise PriceDataError(
            source, row, column, f"'{raw}' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
        ) from None


def _parse_price(text: str, source: str, row: int, column: str) -> float:
    raw = text.strip()
    if not raw:
        raise PriceDataError(source, row, column, "empty cell (missing prices are never filled in)")
    try:
        value = float(raw)
    except ValueError:
        raise PriceDataError(source, row, column, f"'{raw}' is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise PriceDataError(source, row, column, f"{raw} is not a positive price in USD")
    return value


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    low = [h.strip().lower() for h in header]
    for name in names:
        if name in low:
            return low.index(name)
    return None


def read_prices(
    path: str | Path, allow_gaps: bool = False, bar_s: float | None = None
) -> PriceTable:
    """Read a wide or long price CSV (see the module docstring). ``bar_s`` is the bar length
    the file must have (e.g. one day for a daily history); without it, the usual step between
    rows (their median) is the bar, which needs at least three rows to tell a gap."""
    path = Path(path)
    source = str(path)
    try:
        with path.open(newline="") as fh:
            rows = list(csv.reader(fh))
    except OSError as err:
        raise PriceDataError(source, None, None, f"cannot read: {err.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as err:
        raise PriceDataError(source, None, None, f"not a CSV text file ({err})") from None
    return parse_prices(rows, source, allow_gaps, bar_s)


def parse_prices(
    rows: list[list[str]], source: str, allow_gaps: bool = False, bar_s: float | None = None
) -> PriceTable:
    if not rows or not any(c.strip() for c in rows[0]):
        raise PriceDataError(source, 1, None, "no header row (expected 'date,<TOKEN>,...')")
    header = [h.strip() for h in rows[0]]
    d = _find(header, _DATE)
    if d is None:
        raise PriceDataError(
            source, 1, "date", "missing column (the header must name a 'date' column)"
        )
    tok, close = _find(header, _TOKEN), _find(header, _CLOSE)
    body = [(i + 1, r) for i, r in enumerate(rows) if i > 0 and any(c.strip() for c in r)]
    if not body:
        raise PriceDataError(source, 2, None, "no price rows after the header")
    if tok is not None and close is not None and len(header) == 3:
        dates, tokens, prices, rownums = _long(body, header, d, tok, close, source)
    else:
        dates, tokens, prices, rownums = _wide(body, header, d, source)
    gaps = _gaps(dates, rownums, bar_s)
    if gaps and not allow_gaps:
        more = f" (and {len(gaps) - 1} more)" if len(gaps) > 1 else ""
        raise PriceDataError(
            source,
            gaps[0].before_row,
            header[d],
            f"{gaps[0]}{more}; gaps are never filled in: cut the range (--from/--to), "
            "fill them yourself, or pass --allow-gaps to let returns span them",
        )
    return PriceTable(dates, tokens, prices, tuple(gaps), source)


def _wide(
    body: list[tuple[int, list[str]]], header: list[str], d: int, source: str
) -> tuple[NDArray[np.datetime64], tuple[str, ...], FloatArray, list[int]]:
    cols = [i for i in range(len(header)) if i != d]
    if not cols:
        raise PriceDataError(source, 1, None, "no token columns (expected 'date,<TOKEN>,...')")
    for i in cols:
        if not header[i]:
            raise PriceDataError(source, 1, f"#{i + 1}", "column without a token name")
    names = [header[i] for i in cols]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise PriceDataError(source, 1, dup[0], "column appears twice in the header")
    dates = np.empty(len(body), dtype="datetime64[s]")
    prices = np.empty((len(body), len(cols)))
    for k, (rownum, row) in enumerate(body):
        if len(row) < len(header):
            missing = header[len(row)] if len(row) < len(header) else None
            raise PriceDataError(
                source, rownum, missing, f"missing column ({len(row)} of {len(header)} cells)"
            )
        if len(row) > len(header):
            raise PriceDataError(
                source, rownum, None, f"{len(row)} cells, the header has {len(header)}"
            )
        dates[k] = _parse_date(row[d], source, rownum, header[d])
        for j, i in enumerate(cols):
            prices[k, j] = _parse_price(row[i], source, rownum, header[i])
        if k and dates[k] <= dates[k - 1]:
            what = "duplicate date" if dates[k] == dates[k - 1] else "dates out of order"
            raise PriceDataError(
                source,
                rownum,
                header[d],
                f"{what}: {row[d].strip()} after {body[k - 1][1][d].strip()} "
                f"(row {body[k - 1][0]})",
            )
    return dates, tuple(names), prices, [r for r, _ in body]


def _long(
    body: list[tuple[int, list[str]]],
    header: list[str],
    d: int,
    tok: int,
    close: int,
    source: str,
) -> tuple[NDArray[np.datetime64], tuple[str, ...], FloatArray, list[int]]:
    cells: dict[str, dict[np.datetime64, float]] = {}
    first_row: dict[np.datetime64, int] = {}
    for rownum, row in body:
        if len(row) < 3:
            raise PriceDataError(source, rownum, header[len(row)], "missing column")
        when = _parse_date(row[d], source, rownum, header[d])
        token = row[tok].strip()
        if not token:
            raise PriceDataError(source, rownum, header[tok], "empty token name")
        series = cells.setdefault(token, {})
        if when in series:
            raise PriceDataError(
                source, rownum, header[d], f"duplicate date {row[d].strip()} for {token}"
            )
        series[when] = _parse_price(row[close], source, rownum, header[close])
        first_row.setdefault(when, rownum)
    tokens = tuple(cells)
    dates = np.array(sorted(first_row), dtype="datetime64[s]")
    prices = np.empty((len(dates), len(tokens)))
    for j, token in enumerate(tokens):
        for k, when in enumerate(dates):
            if when not in cells[token]:
                raise PriceDataError(
                    source,
                    first_row[when],
                    header[close],
                    f"no {token} close on {when.astype('datetime64[D]')} "
                    "(missing prices are never filled in)",
                )
            prices[k, j] = cells[token][when]
    return dates, tokens, prices, [first_row[w] for w in dates]


def _gaps(
    dates: NDArray[np.datetime64], rownums: list[int], bar_s: float | None = None
) -> list[Gap]:
    if len(dates) < (2 if bar_s else 3):
        return []
    step = np.diff(dates).astype("timedelta64[s]").astype(np.float64)
    usual = float(bar_s) if bar_s else float(np.median(step))
    out = []
    for k in np.flatnonzero(step > 1.5 * usual):
        out.append(
            Gap(
                rownums[k],
                rownums[k + 1],
                str(dates[k].astype("datetime64[D]")),
                str(dates[k + 1].astype("datetime64[D]")),
                round(float(step[k]) / usual) - 1,
            )
        )
    return out


def write_prices(table: PriceTable, path: str | Path) -> None:
    """Write ``table`` in the wide layout (what :func:`read_prices` reads back)."""
    with Path(path).open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", *table.tokens])
        for t in range(table.bars):
            w.writerow([table.day(t), *(f"{x:.10g}" for x in table.prices[t])])
