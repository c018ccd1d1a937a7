"""The replay: a book of units per token, traded at the decision bar's close.

Two conventions:

* ``net`` (default): the portfolio starts at its targets (already held, nothing paid); on a
  rebalance to weights ``w*`` the trades are ``d = w* V - x`` (``x`` the holdings in USD,
  ``V`` their sum), the cost model charges ``C(d)`` and the book ends at ``w* (V - C)``:
  costs come out of the whole portfolio pro rata.
* ``bt``: as ``bt`` 1.4 with ``integer_positions=False`` and a proportional commission
  ``|q| p f``: the book starts in cash and buys on the first bar; a rebalance sizes
  ``amount_i = (w*_i - w_i) V`` on the value before trading; a buy of ``amount`` solves
  ``q p (1 + f) = amount``, a sell ``|q| p (1 - f) = |amount|``, a zero target closes the
  position; the commission comes out of cash, which stays in the book.

Between events the book is constant, so values are computed a segment at a time in numpy and
the policy's :meth:`~keeper.backtest.policies.Policy.next_event` jumps to the next trade.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from keeper.backtest.book import Book
from keeper.backtest.costs import FEES, KINDS, CostModel
from keeper.backtest.data import PriceTable
from keeper.backtest.exceptions import BacktestInputError
from keeper.backtest.policies import Policy
from keeper.backtest.result import BacktestResult

FloatArray = NDArray[np.float64]
Convention = Literal["net", "bt"]


def simulate(
    table: PriceTable,
    policy: Policy,
    targets: FloatArray,
    value: float,
    costs: CostModel,
    convention: Convention = "net",
    first: int = 0,
    end: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> BacktestResult:
    """Replay ``policy`` over bars ``first .. end - 1`` of ``table`` starting with ``value``
    USD at ``targets`` (``net``) or in cash (``bt``)."""
    end = table.bars if end is None else end
    targets = np.asarray(targets, dtype=np.float64)
    if (
        targets.shape != (len(table.tokens),)
        or abs(targets.sum() - 1.0) > 1e-9
        or (targets < 0).any()
    ):
        raise BacktestInputError("targets", "need one non-negative weight per token, summing to 1")
    if value <= 0:
        raise BacktestInputError("--value", f"portfolio value must be positive, got {value:g} USD")
    fee = costs.proportional_rate if convention == "bt" else None
    if convention == "bt" and fee is None:
        raise BacktestInputError("costs", "bt mode takes one proportional fee (or none)")
    p = table.prices
    book = Book(
        table.dates,
        table.tokens,
        p,
        costs,
        first,
        end,
        from_cash=convention == "bt",
        units=np.zeros(len(targets)) if convention == "bt" else targets * value / p[first],
        cash=value if convention == "bt" else 0.0,
    )
    policy.start(book)
    values = np.empty(end - first)
    units = np.empty((end - first, len(targets)))
    cash = np.empty(end - first)
    t = first
    while t < end:
        nxt = min(policy.next_event(book, t), end)
        # the book is constant on [t, nxt): value it in one go
        seg = slice(t - first, nxt - first)
        values[seg] = p[t:nxt] @ book.units + book.cash
        units[seg] = book.units
        cash[seg] = book.cash
        if nxt >= end:
            break
        w = policy.target(book, nxt)
        if w is not None:
            if fee is not None:
                _trade_bt(book, nxt, w, fee)
            else:
                _trade_net(book, nxt, w)
        values[nxt - first] = book.value(nxt)
        units[nxt - first] = book.units
        cash[nxt - first] = book.cash
        if progress is not None:
            progress(nxt + 1 - t)
        t = nxt + 1
    return BacktestResult(
        name=policy.name,
        dates=table.dates[first:end],
        tokens=table.tokens,
        prices=p[first:end],
        values=values,
        units=units,
        cash=cash,
        events=[(e[0] - first, e[1], e[2], e[3]) for e in book.events],
        periods_per_year=table.periods_per_year,
        cost_label=costs.label,
        initial_value=value,
    )


def _trade_net(book: Book, t: int, w: FloatArray) -> None:
    px = book.prices[t]
    x = px * book.units
    v = float(x.sum()) + book.cash
    d = w * v - x
    if not np.any(np.abs(d) > 1e-9 * v):
        return
    c = book.costs.breakdown(t, book.tokens, d, px)
    net = v - float(c.sum())
    book.units = w * net / px
    book.cash = 0.0
    book.events.append((t, d, c, v))


def _trade_bt(book: Book, t: int, w: FloatArray, fee: float) -> None:
    px = book.prices[t]
    x = px * book.units
    v = float(x.sum()) + book.cash
    weights = x / v
    q = book.units.copy()
    traded = np.zeros_like(x)
    fees = 0.0
    cash = book.cash
    for i in range(len(x)):
        if w[i] == 0.0:  # bt closes the position outright
            if q[i] != 0.0:
                traded[i] = -q[i] * px[i]
                fees += abs(q[i]) * px[i] * fee
                cash += q[i] * px[i] * (1.0 - fee)
                q[i] = 0.0
            continue
        amount = (w[i] - weights[i]) * v
        if abs(amount) < 1e-16:
            continue
        dq = amount / (px[i] * (1.0 + fee)) if amount > 0 else amount / (px[i] * (1.0 - fee))
        q[i] += dq
        traded[i] = dq * px[i]
        fees += abs(dq) * px[i] * fee
        cash -= amount
    if not np.any(traded):
        return
    c = np.zeros(len(KINDS))
    c[FEES] = fees
    book.units = q
    book.cash = cash
    book.events.append((t, traded, c, v))
