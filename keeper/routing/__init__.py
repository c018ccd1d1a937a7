"""Routing engine: pool snapshots, exact quotes, optimal gas-aware splits, batch netting.

Public API (see docs/ROUTING.md)::

    snapshot = Snapshot.load("pools.json")          # or read_snapshot(w3, ...)
    market = Market(snapshot)                        # compile once per block
    r = route(market, "USDC", "WETH", 10**9, gas_price_wei=20 * 10**9)
    calls = route_interactions(r, recipient=executor, swap_router=router)
    result = net(market, orders, gas_price_wei=...)

Heavy parts (web3 for reading state) are imported only when used.
"""

from __future__ import annotations

from keeper.routing.exceptions import (
    AmountError,
    NettingError,
    NoRouteError,
    QuoteError,
    RoutingError,
    SnapshotError,
    UnknownTokenError,
)
from keeper.routing.market import Market
from keeper.routing.quotes import Quote, quote
from keeper.routing.route import Certificate, Leg, Route, route
from keeper.routing.snapshot import Snapshot, Token, V2Pool, V3Pool, V3Tick

__all__ = [
    "AmountError",
    "Certificate",
    "Leg",
    "Market",
    "NettingError",
    "NoRouteError",
    "Quote",
    "QuoteError",
    "Route",
    "RoutingError",
    "Snapshot",
    "SnapshotError",
    "Token",
    "UnknownTokenError",
    "V2Pool",
    "V3Pool",
    "V3Tick",
    "quote",
    "route",
]
