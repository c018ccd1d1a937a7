"""A seeded generator of daily crypto-like closes: regime switching, jumps, correlated assets.

Daily log returns of asset ``i`` on day ``t`` in regime ``s_t``::

    r_it = mu_s beta_i / 365
           + k_s sigma_i / sqrt(365) (sqrt(rho_i) f_t + sqrt(1 - rho_i) e_it) + J_t beta_i

``f`` and ``e`` are independent standard normals (one market factor, so the correlation of two
assets is ``sqrt(rho_i rho_j)``; BTC/ETH-like defaults give 0.8), ``J_t`` a common jump
(Poisson, ``jumps_per_year`` times the regime's jump multiplier, size normal). The regime
``s_t`` is a Markov chain over bull / bear / sideways / high-volatility with the mean durations
below. ``mu_s`` is the regime's annual log drift of the market (the median path's slope;
the mean return is higher by ``sigma^2 / 2``), ``k_s`` its volatility multiplier.

The numbers are not fitted to any history; they give the mixture the backtests need (long
trends both ways, quiet stretches, stressed ones, fat tails) at BTC-like 60 % and ETH-like
75 % annual volatility. Same seed, same prices, on every machine (numpy's PCG64).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from keeper.backtest.data import PriceTable
from keeper.backtest.exceptions import BacktestInputError


@dataclass(frozen=True)
class AssetProfile:
    start_price: float
    #: annual volatility in the sideways/bull regimes (a fraction)
    sigma: float
    #: share of variance from the market factor (correlation with the market = sqrt(rho))
    rho: float
    #: exposure to the market's drift and jumps
    beta: float = 1.0


@dataclass(frozen=True)
class RegimeProfile:
    name: str
    #: annual log drift of the market in this regime
    mu: float
    #: volatility multiplier
    vol: float
    #: mean duration in days
    days: float
    jump_scale: float = 1.0


ASSETS: dict[str, AssetProfile] = {
    "WBTC": AssetProfile(30_000.0, 0.60, 0.80, 1.0),
    "WETH": AssetProfile(2_000.0, 0.75, 0.80, 1.15),
    "wstETH": AssetProfile(2_300.0, 0.76, 0.79, 1.15),
    "LINK": AssetProfile(15.0, 0.95, 0.55, 1.3),
    "UNI": AssetProfile(7.0, 1.00, 0.50, 1.3),
    "AAVE": AssetProfile(100.0, 1.00, 0.50, 1.3),
    "BTC": AssetProfile(30_000.0, 0.60, 0.80, 1.0),
    "ETH": AssetProfile(2_000.0, 0.75, 0.80, 1.15),
    "stETH": AssetProfile(2_000.0, 0.75, 0.80, 1.15),
}

REGIMES: tuple[RegimeProfile, ...] = (
    RegimeProfile("bull", 1.00, 0.90, 150.0, 0.5),
    RegimeProfile("bear", -0.80, 1.10, 110.0, 1.5),
    RegimeProfile("sideways", 0.05, 0.65, 170.0, 0.5),
    RegimeProfile("high-vol", -0.10, 1.70, 45.0, 2.5),
)
#: wrappers and staking tokens follow their base asset (same price; wstETH accrues ~3 % a year
#: of staking yield); without the base in the table they are generated like it
ALIASES: dict[str, tuple[str, float]] = {
    "BTC": ("WBTC", 0.0),
    "ETH": ("WETH", 0.0),
    "stETH": ("WETH", 0.0),
    "wstETH": ("WETH", 0.03),
}
JUMPS_PER_YEAR = 6.0
JUMP_MEAN = 0.0
JUMP_SD = 0.06


def _profile(symbol: str, k: int) -> AssetProfile:
    if symbol in ASSETS:
        return ASSETS[symbol]
    # further assets: alt-coin-like, spread so no two are the same
    return AssetProfile(10.0 + 5.0 * k, 0.8 + 0.02 * (k % 10), 0.5 + 0.03 * (k % 8), 1.2)


def synthetic_prices(
    days: int = 3650,
    seed: int = 7,
    tokens: tuple[str, ...] = ("WBTC", "WETH"),
    start: str = "2016-01-01",
    stable: tuple[str, ...] = (),
) -> PriceTable:
    """``days + 1`` daily closes of ``tokens`` (plus $1 columns for ``stable``) and the regime
    of each bar in :attr:`PriceTable.labels`."""
    if days < 2:
        raise BacktestInputError("days", f"need at least 2 days, got {days}")
    if len(set(tokens)) != len(tokens) or not tokens:
        raise BacktestInputError("tokens", "give distinct token symbols")
    aliased = [t for t in tokens if t in ALIASES and ALIASES[t][0] in tokens]
    if aliased:
        base = synthetic_prices(days, seed, tuple(t for t in tokens if t not in aliased), start)
        cols = {b: base.column(b) for b in base.tokens}
        years = np.arange(days + 1) / 365.0
        for alias in aliased:
            src, growth = ALIASES[alias]
            cols[alias] = (
                cols[src]
                * (ASSETS[alias].start_price / ASSETS[src].start_price)
                * np.exp(growth * years)
            )
        prices = np.column_stack([cols[c] for c in tokens])
        if stable:
            prices = np.hstack([prices, np.ones((days + 1, len(stable)))])
        return PriceTable(
            base.dates, (*tokens, *stable), prices, source=base.source, labels=base.labels
        )
    rng = np.random.default_rng(seed)
    n = len(tokens)
    prof = [_profile(t, k) for k, t in enumerate(tokens)]
    sigma = np.array([p.sigma for p in prof])
    rho = np.array([p.rho for p in prof])
    beta = np.array([p.beta for p in prof])
    start_px = np.array([p.start_price for p in prof])

    # regime path: stay with probability 1 - 1/duration, else move to another regime
    # chosen in proportion to its duration
    dur = np.array([r.days for r in REGIMES])
    state = np.empty(days, dtype=np.int64)
    now = int(rng.integers(len(REGIMES)))
    u = rng.random(days)
    pick = rng.random(days)
    for t in range(days):
        if u[t] < 1.0 / dur[now]:
            others = [j for j in range(len(REGIMES)) if j != now]
            w = dur[others] / dur[others].sum()
            now = others[int(np.searchsorted(np.cumsum(w), pick[t] * 0.999999))]
        state[t] = now
    mu = np.array([r.mu for r in REGIMES])[state]
    k = np.array([r.vol for r in REGIMES])[state]
    jscale = np.array([r.jump_scale for r in REGIMES])[state]

    f = rng.standard_normal(days)
    e = rng.standard_normal((days, n))
    shocks = np.sqrt(rho) * f[:, None] + np.sqrt(1.0 - rho) * e
    vol_d = k[:, None] * sigma[None, :] / np.sqrt(365.0)
    drift = mu[:, None] * beta[None, :] / 365.0
    jumps = rng.poisson(JUMPS_PER_YEAR * jscale / 365.0) * rng.normal(JUMP_MEAN, JUMP_SD, days)
    r = drift + vol_d * shocks + jumps[:, None] * beta[None, :]
    logp = np.vstack([np.zeros(n), np.cumsum(r, axis=0)])
    prices = start_px * np.exp(logp)
    if stable:
        prices = np.hstack([prices, np.ones((days + 1, len(stable)))])
    dates = np.datetime64(start, "D") + np.arange(days + 1).astype("timedelta64[D]")
    labels = (REGIMES[state[0]].name, *(REGIMES[x].name for x in state))
    return PriceTable(
        dates.astype("datetime64[s]"),
        (*tokens, *stable),
        prices,
        source=f"synthetic(seed={seed})",
        labels=labels,
    )
