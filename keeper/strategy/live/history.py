"""Daily price history, recorded from the manipulation-resistant prices (SQLite).

The strategy's models (volatility and market regimes, covariance, Kelly) work on *daily* USD
prices. :class:`PriceHistory` keeps one price per token per UTC day in an SQLite file:

* **Sampling cadence.** A sample is taken whenever the recorder runs (``keeper strategy
  record-prices`` from cron, or every round of ``keeper strategy watch``) from
  :class:`~keeper.strategy.live.prices.PriceOracle` (TWAP-anchored; a price that fails the
  manipulation checks is not recorded). The day's row is the *last* sample of that UTC day (a
  daily close): run the recorder at least once a day; more often only refreshes the close.
* **Gaps.** A missing day is filled with the previous close (the two-day move then lands on
  one day; the sum of squared returns keeps its expectation). A gap longer than
  ``max_gap_days`` cuts the series: only the days after it are used.
* **Backfill.** :func:`backfill` samples past blocks (one per day, found by bisection on block
  timestamps); it needs a node that serves historical state (an archive node or a fork of one).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from keeper.strategy.constants import SECONDS_PER_DAY
from keeper.strategy.exceptions import PriceError, StrategyConfigError
from keeper.strategy.live.prices import PriceOracle, pool_refs

FloatArray = NDArray[np.float64]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS prices (
    chain_id INTEGER NOT NULL,
    token TEXT NOT NULL,
    day INTEGER NOT NULL,          -- UTC day number: unix seconds // 86400
    at INTEGER NOT NULL,           -- unix seconds of the sample (chain time)
    block INTEGER,
    price_usd REAL NOT NULL,
    PRIMARY KEY (chain_id, token, day)
)
"""


class PriceHistory:
    """One USD close per token per UTC day for one chain, in the SQLite file ``path``."""

    def __init__(self, path: str | Path, chain_id: int, max_gap_days: int = 3) -> None:
        self.path = Path(path)
        self.chain_id = chain_id
        self.max_gap_days = max_gap_days
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise StrategyConfigError("history.path", f"cannot open {self.path}: {err}") from None

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def record(self, prices_usd: dict[str, float], at: int, block: int | None = None) -> int:
        """Store a sample taken at chain time ``at``; it becomes (or replaces) that day's close
        unless a later sample of the same day is already stored. Returns the rows written."""
        day = at // SECONDS_PER_DAY
        rows = [
            (self.chain_id, t, day, at, block, float(p))
            for t, p in sorted(prices_usd.items())
            if p > 0 and np.isfinite(p)
        ]
        with self._connect() as db:
            before = db.total_changes
            db.executemany(
                "INSERT INTO prices VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (chain_id, token, day) DO UPDATE SET "
                "at = excluded.at, block = excluded.block, price_usd = excluded.price_usd "
                "WHERE excluded.at >= prices.at",
                rows,
            )
            return int(db.total_changes - before)

    def record_closes(self, closes: Iterable[tuple[str, int, float]]) -> int:
        """Store many ``(token, at, price_usd)`` closes at once (an imported history), with the
        same rule as :meth:`record`: a later sample of the same day wins. Returns rows written."""
        rows = [
            (self.chain_id, t, at // SECONDS_PER_DAY, at, None, float(p))
            for t, at, p in closes
            if p > 0 and np.isfinite(p)
        ]
        with self._connect() as db:
            before = db.total_changes
            db.executemany(
                "INSERT INTO prices VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (chain_id, token, day) DO UPDATE SET "
                "at = excluded.at, block = excluded.block, price_usd = excluded.price_usd "
                "WHERE excluded.at >= prices.at",
                rows,
            )
            return int(db.total_changes - before)

    def days(self, token: str) -> int:
        with self._connect() as db:
            (n,) = db.execute(
                "SELECT COUNT(*) FROM prices WHERE chain_id = ? AND token = ?",
                (self.chain_id, token),
            ).fetchone()
        return int(n)

    def last_day(self, tokens: Iterable[str]) -> int | None:
        """The UTC day :meth:`daily_prices` ends on (the last day every token has a close), or
        None when some token has none."""
        names = list(tokens)
        if not names:
            return None
        marks = ",".join("?" * len(names))
        with self._connect() as db:
            rows = db.execute(
                f"SELECT token, MAX(day) FROM prices WHERE chain_id = ? AND token IN ({marks}) "
                "GROUP BY token",
                (self.chain_id, *names),
            ).fetchall()
        if len(rows) < len(set(names)):
            return None
        return min(int(day) for _, day in rows)

    def daily_prices(
        self, tokens: Iterable[str], until_day: int | None = None, max_days: int = 3650
    ) -> FloatArray:
        """Closes ``(T, n)`` of ``tokens`` (oldest first) over consecutive days ending at the
        last day every token has a close (or ``until_day``); gaps filled as described above.
        Returns a ``(0, n)`` array when some token has no close at all."""
        names = list(tokens)
        if not names:
            return np.zeros((0, 0))
        marks = ",".join("?" * len(names))
        with self._connect() as db:
            rows = db.execute(
                f"SELECT token, day, price_usd FROM prices WHERE chain_id = ? "
                f"AND token IN ({marks}) ORDER BY day",
                (self.chain_id, *names),
            ).fetchall()
        series: dict[str, dict[int, float]] = {t: {} for t in names}
        for token, day, price in rows:
            series[token][int(day)] = float(price)
        if any(not s for s in series.values()):
            return np.zeros((0, len(names)))
        end = min(max(s) for s in series.values())
        if until_day is not None:
            end = min(end, until_day)
        out: list[list[float]] = []
        gaps = dict.fromkeys(names, 0)
        day = end
        # walk back from the end; stop where some token has no close for too long
        while len(out) < max_days:
            row = []
            for t in names:
                price = series[t].get(day)
                if price is None:
                    gaps[t] += 1
                    row.append(np.nan)
                else:
                    gaps[t] = 0
                    row.append(price)
            if any(g > self.max_gap_days for g in gaps.values()) or day < min(
                min(s) for s in series.values()
            ):
                break
            out.append(row)
            day -= 1
        arr = np.array(out[::-1], dtype=np.float64).reshape(-1, len(names))
        # leading rows with a missing close cannot be filled from the past: drop them
        while arr.shape[0] and np.isnan(arr[0]).any():
            arr = arr[1:]
        for i in range(1, arr.shape[0]):  # forward-fill the short gaps
            missing = np.isnan(arr[i])
            arr[i, missing] = arr[i - 1, missing]
        return arr


def sample_prices(oracle: Any, tokens: Iterable[str], block: Any = "latest") -> dict[str, float]:
    """Prices of the tokens the oracle can value safely; refused tokens are left out (a sample
    the manipulation checks reject must not enter the history)."""
    out: dict[str, float] = {}
    for token in tokens:
        try:
            out[token] = oracle.price(token, block)
        except PriceError:
            continue
    return out


def record_now(w3: Any, market: Any, tokens: Iterable[str], history: PriceHistory) -> int:
    """Sample the oracle at the latest block into ``history``; returns the rows written."""
    block = w3.eth.get_block("latest")
    prices = sample_prices(PriceOracle(w3, pool_refs(market)), tokens, int(block["number"]))
    return history.record(prices, int(block["timestamp"]), int(block["number"]))


def block_at(w3: Any, timestamp: int, low: int = 0, high: int | None = None) -> int:
    """The last block at or before ``timestamp`` (bisection on block timestamps)."""
    high = int(w3.eth.block_number) if high is None else high
    if int(w3.eth.get_block(low)["timestamp"]) > timestamp:
        return low
    while low < high:
        mid = (low + high + 1) // 2
        if int(w3.eth.get_block(mid)["timestamp"]) <= timestamp:
            low = mid
        else:
            high = mid - 1
    return low


def backfill(w3: Any, market: Any, tokens: Iterable[str], history: PriceHistory, days: int) -> int:
    """Record one close for each of the last ``days`` UTC days (the last block of the day),
    from historical state. Returns the rows written."""
    names = list(tokens)
    oracle = PriceOracle(w3, pool_refs(market))
    latest = w3.eth.get_block("latest")
    today = int(latest["timestamp"]) // SECONDS_PER_DAY
    written, high = 0, int(latest["number"])
    for day in range(today - 1, today - 1 - days, -1):
        number = block_at(w3, (day + 1) * SECONDS_PER_DAY - 1, 0, high)
        block = w3.eth.get_block(number)
        if int(block["timestamp"]) // SECONDS_PER_DAY != day:
            continue  # no block that day (or before the chain began)
        prices = sample_prices(oracle, names, number)
        written += history.record(prices, int(block["timestamp"]), number)
        high = number
    return written
