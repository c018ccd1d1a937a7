"""The head of the chain as the keeper reads it once per block (number, time, fees, gas).

Shared by the daemon, which reads it (:class:`keeper.daemon.chainview.ChainView`), and the
settlement planner, which prices a batch at it; it lives here so neither reaches into the other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Head:
    number: int
    timestamp: int
    base_fee: int
    gas_used: int
    gas_limit: int
