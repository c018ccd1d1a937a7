"""Who caused how much of a settlement's gas: the per-order gas model, and exact pro-rata splits.

A settlement's gas is mostly per order: verifying the signature, the nonce, one transfer per leg,
the ``IntentSettled`` event. The model charges an intent ``ORDER_GAS + LEG_GAS`` per signed leg:
a one-sell one-buy intent is 40,000 gas, its measured marginal cost in a batch (39,866 with the
nonce word in use, docs/BENCHMARKS.md). Whatever the settlement earns back (a builder refund) is
split over its intents in proportion to this gas, in integer wei, so that the parts add up to
exactly the whole.
"""

from __future__ import annotations

from keeper.intents.refunds import split_pro_rata
from keeper.intents.types import RebalanceIntent

__all__ = ["LEG_GAS", "ORDER_GAS", "order_gas", "split_pro_rata"]

#: gas of one order besides its legs (signature, nonce, event, bookkeeping)
ORDER_GAS = 20_000
#: gas of one signed leg (one token transfer)
LEG_GAS = 10_000


def order_gas(intent: RebalanceIntent) -> int:
    """The gas the model says ``intent`` causes in a settlement."""
    return ORDER_GAS + LEG_GAS * (len(intent.sells) + len(intent.buys))
