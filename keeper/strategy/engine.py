"""One evaluation of a strategy: targets -> regime adjustments -> triggers -> cost-gated decision.

Pure: it takes holdings in USD, a price history and the remembered state, and returns the
decision plus the state to remember. Chain reads (portfolio, prices) happen before it, the
proposal after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from keeper.strategy.adjustments import correlation_capped, phased_targets, tax_estimator
from keeper.strategy.config import StrategyConfig
from keeper.strategy.constants import KNOWN_TOKENS, PERIODS_PER_YEAR, Frequency, MarketRegime
from keeper.strategy.controls import ControlState
from keeper.strategy.costs import CostEstimator
from keeper.strategy.decisions import Decision, DecisionRules, decide
from keeper.strategy.market_data import MarketData
from keeper.strategy.models.covariance import ledoit_wolf, log_returns
from keeper.strategy.models.tilt import momentum_tilt
from keeper.strategy.targets import model_targets
from keeper.strategy.triggers.base import Signal, SignalKind
from keeper.strategy.triggers.calendar import calendar_signal, component_signal
from keeper.strategy.triggers.drawdown import DrawdownState, drawdown_signal
from keeper.strategy.triggers.manual import manual_signal
from keeper.strategy.triggers.opportunity import price_move_signal, yield_signal
from keeper.strategy.triggers.regime import detect_regime
from keeper.strategy.triggers.threshold import threshold_signal
from keeper.strategy.triggers.volatility import market_volatility_pct, volatility_reading

FloatArray = NDArray[np.float64]
_ORDER = [
    Frequency.DAILY,
    Frequency.WEEKLY,
    Frequency.BIWEEKLY,
    Frequency.MONTHLY,
    Frequency.QUARTERLY,
]
#: annual volatility assumed without price history: stablecoins 1 %, everything else 80 %
DEFAULT_VOL = {True: 0.01, False: 0.80}
#: daily closes needed before volatility, regime and covariance are estimated from history
MIN_HISTORY_DAYS = 21


@dataclass(frozen=True)
class Evaluation:
    decision: Decision
    state: ControlState
    targets: dict[str, float]
    band: float
    frequency: Frequency
    notes: tuple[str, ...] = field(default=())

    @property
    def explanation(self) -> str:
        """The decision's one line, with what the evaluation assumed or adjusted in brackets
        (regime readings, models that fell back for lack of history)."""
        line = self.decision.explanation
        return f"{line} [{'; '.join(self.notes)}]" if self.notes else line


def _shift(freq: Frequency, steps: int) -> Frequency:
    i = min(len(_ORDER) - 1, max(0, _ORDER.index(freq) + steps))
    return _ORDER[i]


def history_days(market: MarketData) -> int:
    return 0 if market.prices is None else int(market.prices.shape[0])


def _covariance(cfg: StrategyConfig, tokens: list[str], market: MarketData) -> FloatArray:
    if history_days(market) >= max(MIN_HISTORY_DAYS, len(tokens) + 3):
        assert market.prices is not None
        idx = [market.tokens.index(t) for t in tokens if t in market.tokens]
        if len(idx) == len(tokens):
            cov, _ = ledoit_wolf(log_returns(market.prices[:, idx]))
            return np.asarray(cov * PERIODS_PER_YEAR, dtype=np.float64)
    vols = np.array([DEFAULT_VOL[cfg.is_stable(t) if _known(cfg, t) else False] for t in tokens])
    return np.diag(vols**2)


def _history_triggers(cfg: StrategyConfig) -> bool:
    return cfg.triggers.volatility.enabled or cfg.triggers.regime.enabled


def market_sigma(cfg: StrategyConfig, targets: dict[str, float], market: MarketData) -> float:
    """Target-weighted annual volatility of the risky assets from history (a fraction), or the
    default 80 % without enough of it; drives the slippage allowance."""
    tokens = [t for t in targets if t in market.tokens and not _stable(cfg, t)]
    if history_days(market) < MIN_HISTORY_DAYS or not tokens or market.prices is None:
        return DEFAULT_VOL[False]
    idx = [market.tokens.index(t) for t in tokens]
    rets = log_returns(market.prices[:, idx])[-cfg.triggers.volatility.lookback_days :]
    vols = rets.std(axis=0, ddof=1) * np.sqrt(PERIODS_PER_YEAR)
    w = np.array([targets[t] for t in tokens])
    return float(vols @ w / w.sum()) if w.sum() > 0 else DEFAULT_VOL[False]


def _stable(cfg: StrategyConfig, symbol: str) -> bool:
    return cfg.is_stable(symbol) if _known(cfg, symbol) else False


def _known(cfg: StrategyConfig, symbol: str) -> bool:
    return symbol in cfg.tokens or symbol in KNOWN_TOKENS


def evaluate(
    cfg: StrategyConfig,
    holdings_usd: dict[str, float],
    now: datetime,
    state: ControlState,
    market: MarketData,
    estimator: CostEstimator,
) -> Evaluation:
    notes: list[str] = []
    targets, note = model_targets(cfg, market.tokens, market.prices, state.target_overrides)
    if note:
        notes.append(note)
    if cfg.model.kind == "market-cap" and not state.target_overrides:
        targets, state, note = phased_targets(targets, state, now, cfg.model.phase_weeks)
        if note:
            notes.append(note)
    band, frequency = cfg.band, state.frequency or cfg.frequency
    signals: list[Signal] = []
    days = history_days(market)
    history = market.prices if days >= MIN_HISTORY_DAYS else None
    hist_tokens = [t for t in targets if t in market.tokens]
    missing = sorted(t for t in targets if t not in market.tokens)
    if history is None or missing:
        have = f"{days} daily close(s)" if history is None else f"none for {', '.join(missing)}"
        notes.append(
            f"price history: {have}, need {MIN_HISTORY_DAYS}: default volatility "
            f"{DEFAULT_VOL[False]:.0%} (stablecoins {DEFAULT_VOL[True]:.0%})"
            + (", volatility/regime triggers off" if _history_triggers(cfg) else "")
        )

    if history is not None and hist_tokens:
        idx = [market.tokens.index(t) for t in hist_tokens]
        rets = log_returns(history[:, idx])
        tw = np.array([targets[t] for t in hist_tokens])
        stable = np.array([cfg.is_stable(t) if _known(cfg, t) else False for t in hist_tokens])
        vc = cfg.triggers.volatility
        if vc.enabled:
            recent = market_volatility_pct(rets[-vc.lookback_days :], tw, stable)
            if vc.reference == "relative":
                level = market_volatility_pct(rets[-vc.reference_days :], tw, stable)
                reading = volatility_reading(recent, level, min(vc.reference_days, len(rets)))
            else:
                reading = volatility_reading(recent)
            band *= reading.band_scale
            frequency = reading.frequency
            notes.append(reading.reason)
        rc = cfg.triggers.regime
        risky = ~stable
        if rc.enabled and risky.any() and rets.shape[0] >= 2 * rc.horizon:
            basket = rets[-rc.lookback_days :][:, risky] @ (tw[risky] / tw[risky].sum())
            reg = detect_regime(basket, rc.method, rc.horizon, rc.z_critical)
            notes.append(reg.reason)
            if reg.regime is MarketRegime.MEAN_REVERTING:
                band *= rc.mean_reverting_band_scale
                frequency = _shift(frequency, -1)
            elif reg.regime is MarketRegime.TRENDING:
                band *= rc.trending_band_scale
                frequency = _shift(frequency, +1)
                if cfg.rules.momentum_factor:
                    trail = rets[-rc.lookback_days :].sum(axis=0)
                    tilted = momentum_tilt(tw, trail, cfg.rules.momentum_factor, rc.max_tilt)
                    scale = sum(targets[t] for t in hist_tokens)
                    targets.update(
                        {t: float(x) * scale for t, x in zip(hist_tokens, tilted, strict=True)}
                    )
        if cfg.triggers.opportunity.enabled:
            signals.append(
                price_move_signal(hist_tokens, rets[-1], cfg.triggers.opportunity.price_move)
            )
    band = min(max(band, 0.005), 0.5)
    targets, note = correlation_capped(cfg, targets, market, MIN_HISTORY_DAYS)
    if note:
        notes.append(note)
    estimator, note = tax_estimator(cfg, estimator, market)
    if note:
        notes.append(note)

    value = sum(holdings_usd.values())
    if cfg.triggers.drawdown.enabled:
        dd_state = DrawdownState(state.drawdown_peak, state.risk_scale)
        sig, dd_state = drawdown_signal(value, dd_state, targets, cfg.triggers.drawdown)
        state = state.model_copy(
            update={"drawdown_peak": dd_state.peak, "risk_scale": dd_state.risk_scale}
        )
        signals.append(sig)
        if sig.targets is not None:
            targets = sig.targets
    scope: frozenset[str] | None = None
    apy: dict[str, float] | None = None
    if cfg.triggers.opportunity.enabled and market.yields:
        sig = yield_signal(targets, market.yields, cfg.triggers.opportunity)
        signals.append(sig)
        if sig.fired and sig.targets is not None:
            # the extra yield of a destination counts as benefit (decide: yields_apy)
            apy = {q.venue: q.apy for q in market.yields}
            targets, scope = sig.targets, sig.scope

    tokens = sorted(set(holdings_usd) | {t for t, w in targets.items() if w > 0})
    weights = {t: holdings_usd.get(t, 0.0) / value if value else 0.0 for t in tokens}
    drifted = threshold_signal(weights, targets, band)
    signals.append(drifted)
    if cfg.components and not state.target_overrides:
        cal = component_signal(now, state.component_last, cfg.components)
    else:
        cal = calendar_signal(now, state.last_rebalance, frequency)
    if cfg.triggers.calendar.enabled:
        signals.append(cal)
        if cal.fired and cal.scope is not None and scope is None and not drifted.fired:
            scope = cal.scope
    signals.append(manual_signal(state.manual_requested))

    rules = DecisionRules(
        band=band,
        risk_aversion=cfg.costs.risk_aversion,
        horizon_days=cfg.costs.horizon_days,
        benefit_margin=cfg.costs.benefit_margin,
        max_cost_fraction=state.cost_limit if state.cost_limit is not None else cfg.costs.max_cost,
        max_gas_fraction=cfg.costs.max_gas,
        rebalance_to=cfg.rebalance_to,
    )
    risk = any(s.fired and s.kind is SignalKind.RISK for s in signals)
    if risk:  # cutting risk goes all the way to the (de-risked) targets
        rules = replace(rules, rebalance_to="target")
    decision = decide(
        tokens,
        _vals(holdings_usd, tokens),
        _vals(targets, tokens),
        _covariance(cfg, tokens, market),
        estimator,
        rules,
        signals,
        scope=scope,
        yields_apy=None if apy is None else _vals(apy, tokens),
        force=risk,
        hold_reason="paused by the user" if state.paused else None,
    )
    return Evaluation(decision, state, targets, band, frequency, tuple(notes))


def _vals(d: dict[str, float], tokens: list[str]) -> FloatArray:
    return np.array([d.get(t, 0.0) for t in tokens], dtype=np.float64)


def after_proposal(state: ControlState, now: datetime, cfg: StrategyConfig) -> ControlState:
    """The state once a rebalance was proposed: clocks reset, one-shot requests cleared."""
    comps = {name: now for name in cfg.components}
    return state.model_copy(
        update={
            "last_rebalance": now,
            "component_last": comps,
            "manual_requested": False,
            "exit_to": None,
        }
    )
