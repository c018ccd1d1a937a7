"""Walk-forward evaluation of a tuned threshold band: tune in-sample, judge out-of-sample.

The bars are cut into consecutive steps: each step picks the band with the highest final
wealth on the ``in_sample`` bars before it (a vectorised sweep, :mod:`keeper.backtest.sweep`)
and then trades the next ``out_of_sample`` bars with it. Only the out-of-sample stretches are
reported, chained into one value path (each stretch starts at the targets, for the tuned and
the fixed band alike); a tuned result is evidence about the tuning rule,
never a forecast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from keeper.backtest.sweep import sweep_threshold

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class WalkForward:
    #: (first bar, end bar, chosen band) per out-of-sample step
    steps: list[tuple[int, int, float]]
    values: FloatArray  # out-of-sample value path, chained
    fixed_values: FloatArray  # the same bars with the fixed reference band

    @property
    def final(self) -> float:
        return float(self.values[-1])


def walk_forward(
    prices: FloatArray,
    targets: FloatArray,
    bands: FloatArray,
    value: float,
    fixed_band: float,
    fee: float = 0.0,
    gas_usd: FloatArray | float = 0.0,
    impact: FloatArray | None = None,
    in_sample: int = 730,
    out_of_sample: int = 365,
) -> WalkForward | None:
    """None when the data are shorter than one in-sample plus one out-of-sample stretch."""
    t_total = prices.shape[0]
    steps = []
    chained = [np.array([value])]
    fixed = [np.array([value])]
    v = vf = value
    start = in_sample
    while start + 1 < t_total:
        stop = min(t_total - 1, start + out_of_sample)
        end = stop + 1  # through bar ``stop``, where the next stretch starts
        tuned = sweep_threshold(
            prices, targets, bands, v, fee, gas_usd, impact, start - in_sample, start + 1
        )
        best = float(bands[int(np.argmax(tuned.final))])
        ours = sweep_threshold(
            prices, targets, np.array([best]), v, fee, gas_usd, impact, start, end
        )
        ref = sweep_threshold(
            prices, targets, np.array([fixed_band]), vf, fee, gas_usd, impact, start, end
        )
        chained.append(ours.values[0, 1:])
        fixed.append(ref.values[0, 1:])
        v, vf = float(ours.values[0, -1]), float(ref.values[0, -1])
        steps.append((start, stop, best))
        start = stop
    if not steps:
        return None
    return WalkForward(steps, np.concatenate(chained), np.concatenate(fixed))
