"""Parameter sweeps vectorised across configurations: K threshold policies in one replay.

Each configuration ``k`` has its own targets ``t_k`` and band ``b_k``; the replay walks the
bars once and updates all K books with array operations (no Python loop over
configurations). Costs per rebalance are the linearised form of the cost model::

    C_k = gas_usd_t + fee * sum_i |d_ki| + sum_i impact_i d_ki^2

(``gas_usd_t`` the settlement gas of a rebalance on bar ``t``, ``impact_i`` the pool's
quadratic price-impact coefficient, see :func:`impact_coefficients`). A configuration chosen
by a sweep is re-run by :func:`keeper.backtest.simulator.simulate` with the exact costs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from keeper.backtest.pools import PoolProfile, leg_loss_usd

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SweepResult:
    values: FloatArray  # (K, T) after each bar's close
    rebalances: NDArray[np.int64]  # (K,)
    costs: FloatArray  # (K,) dollars paid

    @property
    def final(self) -> FloatArray:
        return self.values[:, -1]


def impact_coefficients(
    profiles: dict[str, PoolProfile], tokens: tuple[str, ...], prices: FloatArray, size_usd: float
) -> FloatArray:
    """Per token, ``impact / x^2`` measured on the exact pool math at a trade of ``size_usd``
    (constant-product impact is quadratic in the size for trades small against the depth)."""
    out = np.zeros(len(tokens))
    for i, tok in enumerate(tokens):
        prof = profiles.get(tok)
        if prof is None or size_usd <= 0:
            continue
        _, impact = leg_loss_usd(prof, float(prices[i]), size_usd, sell=True)
        out[i] = impact / size_usd**2
    return out


def sweep_threshold(
    prices: FloatArray,
    targets: FloatArray,
    bands: FloatArray,
    value: float,
    fee: float = 0.0,
    gas_usd: FloatArray | float = 0.0,
    impact: FloatArray | None = None,
    first: int = 0,
    end: int | None = None,
) -> SweepResult:
    """Replay K threshold configurations (``targets`` ``(K, n)`` or ``(n,)``, ``bands``
    ``(K,)``) over bars ``first .. end - 1``, starting at their targets with ``value`` USD,
    costs as the module docstring (the ``net`` convention of the simulator)."""
    p = np.asarray(prices, dtype=np.float64)
    end = p.shape[0] if end is None else end
    bands = np.asarray(bands, dtype=np.float64)
    k = bands.shape[0]
    tgt = np.broadcast_to(np.asarray(targets, dtype=np.float64), (k, p.shape[1]))
    gas = np.broadcast_to(np.asarray(gas_usd, dtype=np.float64), (p.shape[0],))
    imp = np.zeros(p.shape[1]) if impact is None else np.asarray(impact, dtype=np.float64)
    units = tgt * value / p[first]
    values = np.empty((k, end - first))
    values[:, 0] = value
    count = np.zeros(k, dtype=np.int64)
    paid = np.zeros(k)
    for t in range(first + 1, end):
        x = units * p[t]
        v = x.sum(axis=1)
        fire = np.abs(x / v[:, None] - tgt).max(axis=1) > bands
        if fire.any():
            vf = v[fire]
            d = tgt[fire] * vf[:, None] - x[fire]
            c = gas[t] + fee * np.abs(d).sum(axis=1) + (imp * d * d).sum(axis=1)
            units[fire] = tgt[fire] * (vf - c)[:, None] / p[t]
            v[fire] = vf - c
            count[fire] += 1
            paid[fire] += c
        values[:, t - first] = v
    return SweepResult(values, count, paid)
