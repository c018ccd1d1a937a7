"""When to rebalance and to what: buy-and-hold, calendar, threshold bands, strategy files.

A policy answers two questions for the simulator: :meth:`next_event` (the first bar at or
after ``t0`` where it may act, so the replay can jump over quiet stretches in numpy) and
:meth:`target` (the weights to trade to on that bar, or None). Strategy files go through the
live keeper's own :func:`keeper.strategy.engine.evaluate` on every bar: the same triggers,
allocation models, regime readings and cost gate, with the backtest's cost model behind the
engine's ``CostEstimator`` seam.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray

from keeper.backtest.exceptions import BacktestInputError

if TYPE_CHECKING:
    from keeper.backtest.book import Book
    from keeper.strategy.config import StrategyConfig
    from keeper.strategy.controls import ControlState

FloatArray = NDArray[np.float64]
PERIODS = ("weekly", "monthly", "quarterly")
_SEARCH_CHUNK = 64


class Policy(Protocol):
    name: str

    def start(self, book: Book) -> None:
        """Called once before the first bar (the book holds the starting portfolio)."""
        ...

    def next_event(self, book: Book, t0: int) -> int:
        """The first bar ``>= t0`` where the policy may trade (``book.end`` if none)."""
        ...

    def target(self, book: Book, t: int) -> FloatArray | None:
        """Target weights on bar ``t`` (summing to 1 over ``book.tokens``), or None."""
        ...


@dataclass
class BuyAndHold:
    targets: FloatArray
    name: str = "buy-and-hold"

    def start(self, book: Book) -> None:
        pass

    def next_event(self, book: Book, t0: int) -> int:
        return t0 if t0 == book.first and book.from_cash else book.end

    def target(self, book: Book, t: int) -> FloatArray | None:
        return self.targets


def period_starts(dates: NDArray[np.datetime64], period: str) -> NDArray[np.bool_]:
    """True on each bar whose week (Monday start), month or quarter differs from the previous
    bar's (``bt``'s ``RunWeekly``/``RunMonthly``/``RunQuarterly`` rule); bar 0 is False."""
    days = dates.astype("datetime64[D]")
    if period == "weekly":
        # numpy's epoch (1970-01-01) is a Thursday: shift so weeks start on Monday
        key = (days.astype(np.int64) + 3) // 7
    elif period == "monthly":
        key = days.astype("datetime64[M]").astype(np.int64)
    elif period == "quarterly":
        key = days.astype("datetime64[M]").astype(np.int64) // 3
    else:
        raise BacktestInputError(
            "policy", f"unknown calendar period '{period}' ({', '.join(PERIODS)})"
        )
    out = np.zeros(len(days), dtype=bool)
    out[1:] = key[1:] != key[:-1]
    return out


@dataclass
class Calendar:
    """Back to the targets on the first bar of every week, month or quarter."""

    targets: FloatArray
    period: str
    name: str = ""
    _events: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        self.name = self.name or self.period

    def start(self, book: Book) -> None:
        self._events = np.flatnonzero(period_starts(book.dates, self.period))

    def next_event(self, book: Book, t0: int) -> int:
        if t0 == book.first and book.from_cash:
            return t0
        i = int(np.searchsorted(self._events, t0))
        return int(self._events[i]) if i < len(self._events) else book.end

    def target(self, book: Book, t: int) -> FloatArray | None:
        return self.targets


@dataclass
class Threshold:
    """Back to the targets when any weight is strictly more than ``band`` (absolute weight
    points) from its target, checked at every close."""

    targets: FloatArray
    band: float
    name: str = ""

    def __post_init__(self) -> None:
        if not 0 < self.band < 1:
            raise BacktestInputError("policy", f"threshold band {self.band:g} is not in (0, 1)")
        self.name = self.name or f"threshold {self.band:.0%}"

    def start(self, book: Book) -> None:
        pass

    def next_event(self, book: Book, t0: int) -> int:
        if t0 == book.first and book.from_cash:
            return t0
        t = t0
        chunk = _SEARCH_CHUNK
        while t < book.end:
            hi = min(book.end, t + chunk)
            x = book.prices[t:hi] * book.units
            w = x / (x.sum(axis=1) + book.cash)[:, None]
            out = np.abs(w - self.targets).max(axis=1) > self.band
            if out.any():
                return t + int(np.argmax(out))
            t, chunk = hi, chunk * 2
        return book.end

    def target(self, book: Book, t: int) -> FloatArray | None:
        return self.targets


@dataclass
class Recorded:
    """Trades that happened, replayed: on each bar of ``weights`` (bar -> weights held right
    after that bar's trades), back to those weights; nothing in between.

    With the recorded trades' costs (:class:`~keeper.backtest.costs.RecordedCost`) the net run
    follows the recorded holdings; without costs it is the same decisions before costs (the
    attribution's gross run)."""

    weights: dict[int, FloatArray]
    name: str = "recorded"

    def start(self, book: Book) -> None:
        pass

    def next_event(self, book: Book, t0: int) -> int:
        later = [t for t in self.weights if t >= t0]
        return min(later) if later else book.end

    def target(self, book: Book, t: int) -> FloatArray | None:
        return self.weights.get(t)


@dataclass
class StrategyPolicy:
    """A strategy file, evaluated on every bar by the live engine.

    ``history_bars`` closes up to the bar are what the engine sees (the live keeper reads up
    to 3,650 days from its history store; a year is enough for every default lookback and
    keeps a 10-year replay fast).
    """

    cfg: StrategyConfig
    name: str = ""
    history_bars: int = 365
    explanations: list[tuple[int, str]] = field(default_factory=list)
    _state: ControlState | None = None

    def __post_init__(self) -> None:
        self.name = self.name or self.cfg.name

    def tokens(self) -> list[str]:
        return strategy_tokens(self.cfg)

    def start(self, book: Book) -> None:
        from keeper.strategy.controls import ControlState

        now = _moment(book.dates[book.first])
        comps = {name: now for name in self.cfg.components}
        self._state = ControlState(last_rebalance=now, component_last=comps)

    def next_event(self, book: Book, t0: int) -> int:
        return t0

    def target(self, book: Book, t: int) -> FloatArray | None:
        from keeper.strategy.engine import after_proposal, evaluate
        from keeper.strategy.market_data import MarketData

        assert self._state is not None
        now = _moment(book.dates[t])
        px = book.prices[t]
        holdings = {k: float(v) for k, v in zip(book.tokens, px * book.units, strict=True)}
        lo = max(0, t + 1 - self.history_bars)
        market = MarketData(tokens=book.tokens, prices=book.prices[lo : t + 1])
        estimator = book.costs.estimator(t, book.tokens, px)
        ev = evaluate(self.cfg, holdings, now, self._state, market, estimator)
        self._state = ev.state
        if not ev.decision.rebalance:
            return None
        self._state = after_proposal(self._state, now, self.cfg)
        self.explanations.append((t, ev.explanation))
        dest = ev.decision.destination
        w = np.array([dest.get(k, 0.0) for k in book.tokens])
        return w / w.sum()


def strategy_tokens(cfg: StrategyConfig) -> list[str]:
    """Every token a strategy may hold: its targets, market-cap universe, cash asset and
    drawdown safe asset."""
    tokens = set(cfg.target_weights()) | set(cfg.model.market_caps or {})
    if cfg.model.cash_asset:
        tokens.add(cfg.model.cash_asset)
    if cfg.triggers.drawdown.enabled:
        tokens.add(cfg.triggers.drawdown.safe_asset)
    return sorted(tokens)


def _moment(d: np.datetime64) -> datetime:
    return datetime.fromtimestamp(int(d.astype("datetime64[s]").astype(np.int64)), tz=UTC)


def parse_policy(spec: str, targets: FloatArray) -> Policy:
    """``buy-and-hold``, ``weekly``/``monthly``/``quarterly``, or ``threshold:5%``
    (``band:0.05`` too)."""
    text = spec.strip().lower()
    if text in ("buy-and-hold", "hold", "none"):
        return BuyAndHold(targets)
    if text in PERIODS:
        return Calendar(targets, text)
    kind, _, arg = text.partition(":")
    if kind in ("threshold", "band") and arg:
        try:
            band = float(arg[:-1]) / 100 if arg.endswith("%") else float(arg)
        except ValueError:
            raise BacktestInputError("--policy", f"'{arg}' is not a band (5% or 0.05)") from None
        return Threshold(targets, band)
    raise BacktestInputError(
        "--policy",
        f"unknown policy '{spec}' (buy-and-hold, weekly, monthly, quarterly, threshold:5%)",
    )
