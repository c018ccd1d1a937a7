"""Correlation-aware caps: assets that move together share one weight cap.

Two assets whose return correlation exceeds the limit ``L`` are *linked*; the connected
components of that graph are the correlated groups (A~B and B~C put A, B, C in one group). A
group of two or more counts as one asset for the per-token cap ``c`` (``rules.max_weight``):

    group weight  G = sum_{i in group} t_i            capped at c
    inside the group every member is scaled by the same factor  min(1, c / G)

The weight a capped group gives up goes to everything else in proportion to its target
(water-filling: a receiver that would pass its own ceiling is pinned there and the rest is
shared again). Ceilings: a group's is ``c``; a lone asset's is ``max(c, t_i)`` (the rule never
cuts an uncorrelated asset). When the ceilings cannot hold 100 % the rule cannot be met and the
targets are left unchanged (the caller says so).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def correlation_matrix(returns: FloatArray) -> FloatArray:
    """Sample correlations of the columns; a constant column (a pegged stablecoin) is
    uncorrelated with everything."""
    r = np.asarray(returns, dtype=np.float64)
    sd = r.std(axis=0)
    safe = np.where(sd > 1e-12, sd, 1.0)
    z = (r - r.mean(axis=0)) / safe
    corr = z.T @ z / r.shape[0]
    corr[:, sd <= 1e-12] = 0.0
    corr[sd <= 1e-12, :] = 0.0
    np.fill_diagonal(corr, 1.0)
    return np.asarray(np.clip(corr, -1.0, 1.0))


def correlated_groups(corr: FloatArray, limit: float) -> list[list[int]]:
    """Connected components of ``corr > limit`` (off the diagonal), each sorted, in order of
    their first member."""
    n = corr.shape[0]
    linked = (np.asarray(corr) > limit) & ~np.eye(n, dtype=bool)
    seen = np.zeros(n, dtype=bool)
    groups: list[list[int]] = []
    for start in range(n):
        if seen[start]:
            continue
        stack, members = [start], []
        seen[start] = True
        while stack:
            i = stack.pop()
            members.append(i)
            for j in np.flatnonzero(linked[i] & ~seen):
                seen[j] = True
                stack.append(int(j))
        groups.append(sorted(members))
    return groups


def cap_correlated(
    targets: FloatArray, corr: FloatArray, limit: float, cap: float
) -> tuple[FloatArray, list[list[int]], bool]:
    """Apply the rule; returns ``(weights, groups that were capped, feasible)``."""
    t = np.asarray(targets, dtype=np.float64)
    groups = correlated_groups(corr, limit)
    g = np.array([t[m].sum() for m in groups])
    ceiling = np.array([cap if len(m) > 1 else max(cap, t[m[0]]) for m in groups])
    if ceiling.sum() < 1.0 - 1e-12:
        return t, [], False
    new = g.copy()
    pinned = np.zeros(len(groups), dtype=bool)
    for _ in range(len(groups)):
        over = (new > ceiling + 1e-15) & ~pinned
        if not over.any():
            break
        pinned |= over
        free = 1.0 - ceiling[pinned].sum()
        base = g[~pinned].sum()
        new = np.where(pinned, ceiling, g * free / base if base > 0 else 0.0)
    out = t.copy()
    for k, members in enumerate(groups):
        if g[k] > 0:
            out[members] = t[members] * new[k] / g[k]
    capped = [m for k, m in enumerate(groups) if len(m) > 1 and g[k] > cap + 1e-12]
    return out, capped, True
