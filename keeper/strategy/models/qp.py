"""A small convex quadratic program for long-only weights.

    minimise   1/2 w'Qw - c'w
    subject to lo <= w <= hi,   sum(w) == 1 (or <= 1),   G w <= g   (group caps)

n is the number of assets (tens at most), so SciPy's SLSQP finds the active set and a KKT
solve on that active set then "polishes" the answer to machine precision (SLSQP alone stops
around 1e-8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from keeper.strategy.exceptions import ModelError

FloatArray = NDArray[np.float64]
_TOL = 1e-7


@dataclass(frozen=True)
class Problem:
    q: FloatArray
    c: FloatArray
    lo: FloatArray
    hi: FloatArray
    budget_equal: bool = True
    groups: FloatArray | None = None  # (k, n) 0/1 membership
    group_caps: FloatArray | None = None  # (k,)

    def objective(self, w: FloatArray) -> float:
        return float(0.5 * w @ self.q @ w - self.c @ w)

    def feasible(self, w: FloatArray, tol: float = 1e-9) -> bool:
        ok = bool(np.all(w >= self.lo - tol) and np.all(w <= self.hi + tol))
        total = float(np.sum(w))
        ok &= abs(total - 1.0) <= tol if self.budget_equal else total <= 1.0 + tol
        if self.groups is not None and self.group_caps is not None:
            ok &= bool(np.all(self.groups @ w <= self.group_caps + tol))
        return ok


def solve(problem: Problem, name: str = "qp") -> FloatArray:
    """Solve ``problem``; raise :class:`ModelError` when it is infeasible."""
    from scipy.optimize import minimize

    n = problem.c.shape[0]
    if problem.budget_equal and (problem.lo.sum() > 1 + 1e-12 or problem.hi.sum() < 1 - 1e-12):
        raise ModelError(name, "weight caps cannot add up to 100%")
    constraints: list[dict[str, object]] = [
        {
            "type": "eq" if problem.budget_equal else "ineq",
            "fun": (lambda w: np.sum(w) - 1.0)
            if problem.budget_equal
            else (lambda w: 1.0 - np.sum(w)),
            "jac": (lambda w: np.ones(n)) if problem.budget_equal else (lambda w: -np.ones(n)),
        }
    ]
    if problem.groups is not None and problem.group_caps is not None:
        g, caps = problem.groups, problem.group_caps
        constraints.append({"type": "ineq", "fun": lambda w: caps - g @ w, "jac": lambda w: -g})
    start = np.clip(np.full(n, 1.0 / n), problem.lo, problem.hi)
    result = minimize(
        problem.objective,
        start,
        jac=lambda w: problem.q @ w - problem.c,
        bounds=list(zip(problem.lo, problem.hi, strict=True)),
        constraints=constraints,
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 500},
    )
    w = np.clip(np.asarray(result.x, dtype=np.float64), problem.lo, problem.hi)
    if not problem.feasible(w, tol=1e-6):
        raise ModelError(name, f"no feasible weights under the caps ({result.message})")
    polished = _polish(problem, w)
    if polished is not None and problem.objective(polished) <= problem.objective(w) + 1e-12:
        return polished
    return w


def _polish(problem: Problem, w: FloatArray) -> FloatArray | None:
    """Re-solve exactly on the active set found by the iterative solver."""
    n = w.shape[0]
    at_lo = w <= problem.lo + _TOL
    at_hi = (w >= problem.hi - _TOL) & ~at_lo
    fixed = at_lo | at_hi
    free = ~fixed
    w_fixed = np.where(at_lo, problem.lo, np.where(at_hi, problem.hi, 0.0))
    rows: list[FloatArray] = []
    rhs: list[float] = []
    if problem.budget_equal or abs(float(np.sum(w)) - 1.0) <= _TOL:
        rows.append(np.ones(n))
        rhs.append(1.0)
    if problem.groups is not None and problem.group_caps is not None:
        for row, cap in zip(problem.groups, problem.group_caps, strict=True):
            if float(row @ w) >= cap - _TOL:
                rows.append(row)
                rhs.append(float(cap))
    if not free.any():
        return w_fixed if problem.feasible(w_fixed) else None
    q_ff = problem.q[np.ix_(free, free)]
    top = problem.c[free] - problem.q[np.ix_(free, fixed)] @ w_fixed[fixed]
    if rows:
        a = np.vstack(rows)
        a_f = a[:, free]
        k = a.shape[0]
        kkt = np.block([[q_ff, a_f.T], [a_f, np.zeros((k, k))]])
        bottom = np.asarray(rhs) - a[:, fixed] @ w_fixed[fixed]
        sol = np.linalg.lstsq(kkt, np.concatenate([top, bottom]), rcond=None)[0]
        w_free = sol[: int(free.sum())]
    else:
        w_free = np.linalg.lstsq(q_ff, top, rcond=None)[0]
    out = w_fixed.copy()
    out[free] = w_free
    return out if problem.feasible(out) else None
