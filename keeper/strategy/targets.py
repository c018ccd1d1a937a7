"""Target weights from the strategy's allocation model.

``fixed`` uses the configured targets (or components); ``market-cap`` the capped market-cap
weights; ``kelly``, ``mean-variance``, ``risk-parity`` and ``vol-target`` estimate a
Ledoit-Wolf covariance ``Sigma`` (daily log returns, x 365) and annualised arithmetic mean
returns from the last ``lookback_days`` of daily prices over the configured tokens:

    mu_i = 365 * mean(daily log return_i) + Sigma_ii / 2

Growth-optimal (Kelly) and mean-variance weights ``Sigma^-1 (mu - r_f)`` need the arithmetic
drift; the log drift alone would understate every asset by ``sigma^2 / 2`` and bias the
weights down by ``lam / 2`` (12.5 points at quarter Kelly). A ``cash_asset`` takes what the
risky weights leave over. Without enough history the configured targets are used, with a note.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from keeper.strategy.config import StrategyConfig
from keeper.strategy.constants import PERIODS_PER_YEAR
from keeper.strategy.models.covariance import ledoit_wolf, log_returns
from keeper.strategy.models.kelly import kelly_weights
from keeper.strategy.models.market_cap import market_cap_weights
from keeper.strategy.models.mean_variance import mean_variance_weights
from keeper.strategy.models.risk_parity import risk_parity_weights
from keeper.strategy.models.vol_target import vol_target_weights

FloatArray = NDArray[np.float64]


def _groups(cfg: StrategyConfig, tokens: list[str]) -> tuple[FloatArray | None, FloatArray | None]:
    caps = cfg.rules.sector_caps
    if not caps:
        return None, None
    sectors = sorted(caps)
    g = np.array([[1.0 if cfg.token_sector(t) == s else 0.0 for t in tokens] for s in sectors])
    return g, np.array([caps[s] for s in sectors])


def model_targets(
    cfg: StrategyConfig,
    price_tokens: tuple[str, ...],
    prices: FloatArray | None,
    overrides: dict[str, float] | None = None,
) -> tuple[dict[str, float], str | None]:
    """Return ``(targets, note)``; the note says when a model fell back to fixed targets."""
    if overrides:
        return dict(overrides), "targets set by the user"
    m = cfg.model
    configured = cfg.target_weights()
    if m.kind == "fixed":
        return configured, None
    if m.kind == "market-cap":
        if not m.market_caps:
            return configured, "market-cap: no market caps given, using configured targets"
        return market_cap_weights(m.market_caps, m.min_market_cap_usd, cfg.rules.max_weight), None
    cash = m.cash_asset
    universe = [t for t in sorted(configured) if t != cash]
    need = m.lookback_days + 1
    if prices is None or prices.shape[0] < need or any(t not in price_tokens for t in universe):
        return (
            configured,
            f"{m.kind}: not enough price history (need {need} days), using configured targets",
        )
    idx = [price_tokens.index(t) for t in universe]
    rets = log_returns(prices[-need:, idx])
    cov = ledoit_wolf(rets)[0] * PERIODS_PER_YEAR
    mu = rets.mean(axis=0) * PERIODS_PER_YEAR + np.diag(cov) / 2.0
    groups, group_caps = _groups(cfg, universe)
    cap = cfg.rules.max_weight
    if m.kind == "kelly":
        res = kelly_weights(
            mu, cov, m.risk_tolerance, m.risk_free_rate, cap, cash is not None, groups, group_caps
        )
        w, rest = res.weights, res.cash
    elif m.kind == "mean-variance":
        w, rest = mean_variance_weights(mu, cov, m.risk_aversion, cap, groups, group_caps), 0.0
    else:
        if m.kind == "risk-parity":
            w = risk_parity_weights(cov)
        else:  # vol-target scales the configured risky mix
            base = np.array([configured[t] for t in universe])
            w = base / base.sum()
        rest = 0.0
        if m.kind == "vol-target" or (cfg.rules.volatility_scaling and cash is not None):
            w, rest = vol_target_weights(w, cov, m.target_volatility)
    out = {t: float(x) for t, x in zip(universe, w, strict=True) if x > 1e-9}
    if cash is not None:
        out[cash] = out.get(cash, 0.0) + rest
    total = sum(out.values())
    return {t: x / total for t, x in out.items()}, None
