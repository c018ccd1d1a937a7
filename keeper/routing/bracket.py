"""A root bracket refined by Illinois regula falsi, shared by the solver's line search and the
netting's clearing-price search."""

from __future__ import annotations


class IllinoisBracket:
    """``[low, high]`` around a root, with the function's values at both ends (opposite signs).

    :meth:`move` replaces one end with a new point; when the same end is replaced twice in a
    row, the value kept at the other (stale) end is halved — the Illinois modification, which
    keeps regula falsi from creeping up on the root from one side.
    """

    __slots__ = ("_side", "f_high", "f_low", "high", "low")

    def __init__(self, low: float, f_low: float, high: float, f_high: float) -> None:
        self.low, self.f_low, self.high, self.f_high = low, f_low, high, f_high
        self._side = 0

    def fraction(self) -> float:
        """Where the chord through both ends crosses zero, as a fraction of ``high - low``."""
        return self.f_low / (self.f_low - self.f_high)

    def move(self, x: float, fx: float, *, low: bool) -> None:
        """Make ``(x, fx)`` the low end (``low=True``) or the high end."""
        if low:
            self.low, self.f_low = x, fx
            if self._side == -1:
                self.f_high *= 0.5
            self._side = -1
        else:
            self.high, self.f_high = x, fx
            if self._side == 1:
                self.f_low *= 0.5
            self._side = 1
