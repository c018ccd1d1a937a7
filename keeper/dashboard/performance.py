"""Performance with attribution: the backtester's replay and metrics on the owner's live history.

The window is the recorded daily closes (``keeper strategy record-prices``) up to yesterday,
plus a last bar *now* at the chain's prices. The owner's holdings on each bar come from their
holdings now, unwound through the ledger's settlements (each fill: sold and received amounts);
the holdings before the window's first trade are the start.

Three runs of :func:`keeper.backtest.simulator.simulate` on that table, one code path with the
backtester (:mod:`keeper.backtest.result`):

* **rebalanced**: the recorded trades (:class:`~keeper.backtest.policies.Recorded`: on a
  settlement's bar, back to the weights held after it) with what they cost
  (:class:`~keeper.backtest.costs.RecordedCost`): the keeper's fees, and the rest of the value
  given up at the bar's close (LP fees and price impact at the block's mid prices, plus the
  prices' move from the block to the close). It reproduces the recorded holdings exactly;
* **before costs**: the same trades, free;
* **buy-and-hold** of the start holdings.

The difference rebalanced - buy-and-hold splits exactly into the *rebalancing effect* (before
costs - buy-and-hold) and the *costs* (rebalanced - before costs), in USD and in the
backtester's log points (:func:`keeper.backtest.result.attribution`: drift avoided +
rebalancing premium + costs). Beside it, what was paid at the time: keeper fees (and the
builder refunds credited against them), LP fees and impact; the execution surplus over the
signed limits; the gas of the owner's share, which the keeper paid.

Assumes the holdings change only through the recorded settlements: a transfer in or out shows
as holdings the settlements cannot explain, and the page says so instead of showing numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from keeper.backtest.costs import FEES, IMPACT, CostModel, RecordedCost
from keeper.backtest.data import PriceTable
from keeper.backtest.metrics import Metrics
from keeper.backtest.policies import BuyAndHold, Recorded
from keeper.backtest.result import BacktestResult, attribution
from keeper.backtest.simulator import simulate
from keeper.dashboard.models import (
    AttributionLog,
    CostsPaid,
    MetricsView,
    PerformanceAttribution,
)

DAY = 86_400
#: fewer samples than this and there is nothing to say
MIN_SAMPLES = 2
#: fewer daily samples than this and volatility, Sharpe and VaR are not shown
MIN_RISK_SAMPLES = 5
#: a holding below this many whole tokens after unwinding is a transfer the ledger missed
TOLERANCE = 1e-9

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class LiveTrade:
    """One settled fill of the owner, in whole tokens and USD at its block."""

    time: int  # block timestamp
    delta: dict[str, float]  # whole tokens: + received, - sold (fee included)
    fees_usd: float = 0.0  # keeper fee charged (after refund credits)
    trading_usd: float = 0.0  # LP fees and price impact at the block's mid prices
    surplus_usd: float = 0.0  # received above the signed minima
    credited_usd: float = 0.0  # builder refunds taken off the keeper fee
    gas_usd: float = 0.0  # the owner's gas share (paid by the keeper)


@dataclass
class LiveHistory:
    """The inputs: daily closes ``closes[t, i]`` of ``tokens[i]`` ending on ``last_day`` (UTC
    day number), the chain's prices and the owner's holdings (whole tokens) ``now``."""

    tokens: tuple[str, ...]
    closes: FloatArray
    last_day: int | None
    now: int
    prices_now: dict[str, float]
    holdings_now: dict[str, float]
    trades: Sequence[LiveTrade] = field(default_factory=list)


def _table(h: LiveHistory) -> PriceTable:
    today = h.now // DAY
    closes = np.asarray(h.closes, dtype=np.float64).reshape(-1, len(h.tokens))
    days = np.arange(closes.shape[0]) + ((h.last_day or today) - closes.shape[0] + 1)
    keep = days < today  # today's close so far is the chain's price now
    now_row = np.array([h.prices_now.get(t, np.nan) for t in h.tokens])
    dates = np.concatenate([days[keep] * DAY + DAY - 1, [h.now]]).astype("datetime64[s]")
    return PriceTable(dates, h.tokens, np.vstack([closes[keep], now_row]), source="live history")


def _view(m: Metrics, samples: int) -> MetricsView:
    risky = samples >= MIN_RISK_SAMPLES
    return MetricsView(
        total_return=m.total_return,
        volatility=m.volatility if risky else None,
        max_drawdown=m.max_drawdown,
        sharpe=m.sharpe if risky and m.volatility > 0 else None,
        var95=m.var95 if risky else None,
        cvar95=m.cvar95 if risky else None,
    )


def _short(samples: int, note: str) -> PerformanceAttribution:
    return PerformanceAttribution(samples=samples, note=note)


def attribute(h: LiveHistory) -> PerformanceAttribution:
    """Rebalanced vs buy-and-hold over the live history, and the difference's parts."""
    n = _table(h).bars if h.tokens else 1
    if n < MIN_SAMPLES:
        return _short(
            n,
            f"{n} price sample{'s' if n != 1 else ''} (today's); performance needs at least "
            f"{MIN_SAMPLES}: record daily closes with `keeper strategy record-prices` (the "
            "strategy's history.path)",
        )
    table = _table(h)
    if np.isnan(table.prices).any() or (table.prices <= 0).any():
        return _short(n, "a token has no price now: no attribution")
    dates = table.dates.astype(np.int64)
    first_day = int(dates[0]) // DAY
    index = {t: i for i, t in enumerate(h.tokens)}
    after = np.array([h.holdings_now.get(t, 0.0) for t in h.tokens])
    by_bar: dict[int, list[LiveTrade]] = {}
    left_out = 0
    for trade in h.trades:
        if trade.time // DAY < first_day:
            continue  # before the window: already in the start holdings
        if any(s not in index for s in trade.delta):
            left_out += 1
        bar = min(int(np.searchsorted(dates, trade.time, side="left")), n - 1)
        by_bar.setdefault(bar, []).append(trade)
    units = np.empty((n, len(h.tokens)))  # held after each bar's trades
    for t in range(n - 1, -1, -1):
        units[t] = after
        for trade in by_bar.get(t, []):
            for symbol, amount in trade.delta.items():
                if symbol in index:
                    after = after.copy()
                    after[index[symbol]] -= amount
    start = after
    if (units < -TOLERANCE).any() or (start < -TOLERANCE).any():
        return _short(
            n,
            "the recorded settlements do not explain the holdings (tokens moved in or out "
            "outside the keeper): no attribution",
        )
    start = np.maximum(start, 0.0)
    v0 = float(table.prices[0] @ start)
    if v0 <= 0:
        return _short(n, "the portfolio held nothing at the start of the window")

    w0 = table.prices[0] * start / v0
    weights: dict[int, FloatArray] = {}
    fees: dict[int, float] = {}
    given_up: dict[int, float] = {}
    for t, trades in by_bar.items():
        held = table.prices[t] * units[t]
        if held.sum() <= 0:
            return _short(n, "the portfolio was sold out of its priced tokens: no attribution")
        weights[t] = held / held.sum()
        before = units[t - 1] if t > 0 else start
        loss = float(table.prices[t] @ (before - units[t]))  # value given up at the close
        fees[t] = sum(x.fees_usd for x in trades)
        given_up[t] = loss - fees[t]
    paid = CostModel(
        (RecordedCost(FEES, fees), RecordedCost(IMPACT, given_up)), "recorded settlements"
    )
    net = simulate(table, Recorded(weights, "rebalanced"), w0, v0, paid)
    gross = simulate(table, Recorded(weights, "before costs"), w0, v0, CostModel())
    hold = simulate(table, BuyAndHold(w0), w0, v0, CostModel())
    return _attribution(h, n, by_bar, left_out, net, gross, hold, given_up)


def _attribution(
    h: LiveHistory,
    n: int,
    by_bar: dict[int, list[LiveTrade]],
    left_out: int,
    net: BacktestResult,
    gross: BacktestResult,
    hold: BacktestResult,
    given_up: dict[int, float],
) -> PerformanceAttribution:
    trades = [x for xs in by_bar.values() for x in xs]
    trading = sum(x.trading_usd for x in trades)
    fees = sum(x.fees_usd for x in trades)
    a = attribution(net, gross, hold)
    notes = []
    if n < MIN_RISK_SAMPLES:
        notes.append(f"{n} samples: volatility, Sharpe and VaR need {MIN_RISK_SAMPLES}")
    if left_out:
        notes.append(f"{left_out} settlement(s) traded tokens without a price history (left out)")
    times = net.dates.astype(np.int64)
    return PerformanceAttribution(
        samples=n,
        start=int(times[0]),
        end=int(times[-1]),
        note="; ".join(notes),
        rebalanced=_view(net.metrics, n),
        buy_and_hold=_view(hold.metrics, n),
        start_usd=net.initial_value,
        rebalanced_usd=net.final_value,
        buy_and_hold_usd=hold.final_value,
        difference_usd=net.final_value - hold.final_value,
        rebalancing_effect_usd=gross.final_value - hold.final_value,
        costs_effect_usd=net.final_value - gross.final_value,
        log_points=AttributionLog(
            total=a.total, drift_avoided=a.drift_avoided, premium=a.premium, costs=a.costs
        ),
        costs_paid=CostsPaid(
            keeper_fees_usd=fees + sum(x.credited_usd for x in trades),
            refunds_credited_usd=sum(x.credited_usd for x in trades),
            lp_fees_and_impact_usd=trading,
            block_to_close_usd=sum(given_up.values()) - trading,
            total_usd=fees + sum(given_up.values()),
            surplus_usd=sum(x.surplus_usd for x in trades),
            keeper_gas_usd=sum(x.gas_usd for x in trades),
        ),
        settlements=len(trades),
        curve=[
            (int(t), float(r), float(b))
            for t, r, b in zip(times, net.values, hold.values, strict=True)
        ],
    )
