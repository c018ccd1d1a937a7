"""Gas price policy: next block's base fee plus a priority tip, never above the configured cap."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from keeper.config import GasPolicy
from keeper.settlement.exceptions import GasAboveCapError

GWEI = 10**9
#: EIP-1559: the base fee moves by at most 1/8 per block, towards half-full blocks
BASE_FEE_CHANGE_DENOMINATOR = 8
ELASTICITY = 2


def next_base_fee(base_fee: int, gas_used: int, gas_limit: int) -> int:
    """The base fee of the block after one with ``base_fee``, ``gas_used`` and ``gas_limit``."""
    target = gas_limit // ELASTICITY
    if target == 0 or gas_used == target:
        return base_fee
    if gas_used > target:
        delta = max(base_fee * (gas_used - target) // target // BASE_FEE_CHANGE_DENOMINATOR, 1)
        return base_fee + delta
    return base_fee - base_fee * (target - gas_used) // target // BASE_FEE_CHANGE_DENOMINATOR


@dataclass(frozen=True)
class FeeQuote:
    base_fee: int
    max_priority_fee: int
    max_fee: int

    def cost(self, gas: int) -> int:
        """Wei paid for ``gas`` if included at the quoted base fee."""
        return gas * (self.base_fee + self.max_priority_fee)


def _wei(gwei: Decimal) -> int:
    return int(gwei * GWEI)


def quote_fees(policy: GasPolicy, base_fee: int) -> FeeQuote:
    """maxFee = min(cap, base fee x headroom + tip); refuses when base fee + tip > cap.

    Raises:
        GasAboveCapError: gas is too expensive now (the cost gate waits for a cheaper block).
    """
    tip = _wei(policy.priority_fee_gwei)
    cap = _wei(policy.max_fee_gwei)
    if base_fee + tip > cap:
        raise GasAboveCapError(base_fee, tip, cap)
    max_fee = min(cap, int(base_fee * policy.base_fee_headroom) + tip)
    return FeeQuote(base_fee=base_fee, max_priority_fee=tip, max_fee=max_fee)


@dataclass
class GasForecast:
    """The gas of the next settlement, from the last ones: lets the keeper sign before it
    simulates, so that the node's simulation and the relay's ``eth_callBundle`` of the signed
    transaction run at the same time. An under-forecast only costs time: the simulation says how
    much gas is needed, and a transaction with too low a limit is signed again.

    The forecast is the largest gas per unit (an order, or an interaction) of the last
    ``window`` simulations, times the units, times ``headroom``.
    """

    window: int = 16
    headroom: float = 1.25
    per_unit: list[float] = field(default_factory=list)

    def observe(self, orders: int, interactions: int, gas_used: int) -> None:
        self.per_unit = [*self.per_unit, gas_used / max(orders + interactions, 1)][-self.window :]

    def forecast(self, orders: int, interactions: int) -> int | None:
        """Gas expected (with headroom), or None before the first simulation."""
        if not self.per_unit:
            return None
        return int(max(self.per_unit) * max(orders + interactions, 1) * self.headroom)
