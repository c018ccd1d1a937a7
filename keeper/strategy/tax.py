"""Tax-aware costs: realised gains of a rebalance's sells, from the user's cost-basis file.

Tokens are fungible on-chain: the chain knows no lots, so the lots are the user's own records,
kept in a cost-basis file (``rules.cost_basis``, JSON or YAML)::

    lots:
      WETH: [{amount: 10, price_usd: 1800}, {amount: 10, price_usd: 3500}]
      WBTC: [{amount: 0.5, price_usd: 60000}]

Selling ``u`` units of a token at price ``p`` realises, with the lots taken highest cost first
(HIFO, which realises the smallest gain a sale of that size can):

    gain = sum_j u_j (p - c_j)      over the lots used, u_j <= lot j's amount, sum u_j = u

Units beyond the recorded lots have an unknown basis and count at basis 0 (their whole value
is gain: conservative). Gains and losses of one rebalance offset each other; the tax counted as
a cost is ``tax_rate * max(0, sum of gains)``. A rebalance therefore trades less (band edge
rather than target) or not at all when realising gains costs more than it is worth, and the
decision line shows the tax part of the cost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from keeper.strategy.costs import CostEstimate, CostEstimator
from keeper.strategy.exceptions import StrategyConfigError


class Lot(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    amount: float = Field(gt=0)  # whole tokens
    price_usd: float = Field(ge=0)  # cost per whole token


class CostBasis(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    lots: dict[str, list[Lot]]


def load_cost_basis(path: str | Path) -> CostBasis:
    """Read a cost-basis file; errors name ``rules.cost_basis`` and the key inside the file."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text()
        raw: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        return CostBasis.model_validate(raw)
    except OSError as err:
        raise StrategyConfigError(
            "rules.cost_basis", f"cannot read {path}: {err.strerror}"
        ) from None
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise StrategyConfigError("rules.cost_basis", f"{path}: '{key}': {first['msg']}") from None
    except (ValueError, yaml.YAMLError) as err:
        problem = str(err).splitlines()[0]
        raise StrategyConfigError("rules.cost_basis", f"{path}: not JSON/YAML: {problem}") from None


def realised_gain(lots: list[Lot], units: float, price: float) -> float:
    """Gain of selling ``units`` at ``price`` with the highest-cost lots used first."""
    left, gain = units, 0.0
    for lot in sorted(lots, key=lambda x: -x.price_usd):
        if left <= 0:
            break
        take = min(left, lot.amount)
        gain += take * (price - lot.price_usd)
        left -= take
    return gain + max(left, 0.0) * price  # beyond the records: basis 0


@dataclass(frozen=True)
class TaxAwareEstimator:
    """Adds the tax on realised gains to another estimator's cost."""

    inner: CostEstimator
    basis: CostBasis
    prices_usd: dict[str, float]
    tax_rate: float

    def gains_usd(self, trades_usd: dict[str, float]) -> float:
        total = 0.0
        for token, usd in trades_usd.items():
            price = self.prices_usd.get(token, 0.0)
            if usd < 0 and price > 0:
                total += realised_gain(self.basis.lots.get(token, []), -usd / price, price)
        return total

    def estimate(self, trades_usd: dict[str, float]) -> CostEstimate:
        cost = self.inner.estimate(trades_usd)
        tax = self.tax_rate * max(0.0, self.gains_usd(trades_usd))
        return replace(cost, tax_usd=cost.tax_usd + tax)
