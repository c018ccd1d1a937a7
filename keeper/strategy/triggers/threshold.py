"""Threshold trigger: fire when any weight is further than the band from its target.

``drift_i = w_i - t_i``; fires when ``max_i |drift_i| > band`` (absolute weight points).
"""

from __future__ import annotations

from keeper.strategy.triggers.base import Signal, SignalKind, pct


def drift(weights: dict[str, float], targets: dict[str, float]) -> dict[str, float]:
    tokens = sorted(set(weights) | set(targets))
    return {t: weights.get(t, 0.0) - targets.get(t, 0.0) for t in tokens}


def worst_drift(weights: dict[str, float], targets: dict[str, float]) -> tuple[str, float]:
    d = drift(weights, targets)
    # ties (two tokens always drift equally in a two-token portfolio) name the overweight one
    token = max(d, key=lambda t: (round(abs(d[t]), 12), d[t] > 0, t))
    return token, d[token]


def describe(token: str, weights: dict[str, float], targets: dict[str, float], band: float) -> str:
    return (
        f"{token} {pct(weights.get(token, 0.0))} vs {pct(targets.get(token, 0.0))} target, "
        f"band {pct(band)}"
    )


def threshold_signal(weights: dict[str, float], targets: dict[str, float], band: float) -> Signal:
    token, d = worst_drift(weights, targets)
    fired = abs(d) > band
    status = "outside" if fired else "inside"
    return Signal(
        "threshold", SignalKind.DRIFT, fired, f"{describe(token, weights, targets, band)}: {status}"
    )
