"""Backtests: replay price history through the strategy layer with the system's own costs.

``data`` (CSV prices, gaps reported), ``synthetic`` (a seeded regime-switching generator),
``costs`` (one class per cost term), ``policies`` (buy-and-hold, calendar, threshold, and
strategy files through ``keeper.strategy.engine.evaluate``), ``simulator`` (the replay),
``result``/``metrics`` (one object per run that knows its metrics and attribution),
``regimes``, ``sweep``/``walkforward`` (parameter sweeps vectorised across configurations),
``report`` (table, plots, HTML) and ``cli`` (``keeper backtest``). See docs/BACKTESTS.md.

Only the pure strategy layer, the routing math and the settlement gas figures are imported:
nothing here reads a chain.
"""
