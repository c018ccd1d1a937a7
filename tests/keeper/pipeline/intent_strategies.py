"""Hypothesis strategies for arbitrary (ABI-valid, not necessarily signable) rebalance intents
and the orders (intent + signature + execution) that carry them."""

from __future__ import annotations

from hypothesis import strategies as st

from keeper.intents.types import DirectLeg, Execution, Order, RebalanceIntent, TokenAmount
from keeper.settlement.abi import TO_EXECUTOR

UINT = st.integers(min_value=0, max_value=2**256 - 1)
ADDRESS = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
NONZERO_ADDRESS = ADDRESS.filter(lambda a: int(a, 16) != 0)
#: a sell leg's destination: the executor (None) or any order/leg the packed form can name
DESTINATIONS = st.none() | st.builds(
    DirectLeg,
    order=st.integers(min_value=0, max_value=TO_EXECUTOR - 1),
    leg=st.integers(min_value=0, max_value=0xFF),
)


@st.composite
def intents(draw: st.DrawFn, max_legs: int = 4, executor: str | None = None) -> RebalanceIntent:
    """Any intent the type accepts: every field random over its whole range."""
    legs = st.lists(st.tuples(ADDRESS, UINT), max_size=max_legs)
    valid_after = draw(UINT)
    return RebalanceIntent(
        owner=draw(NONZERO_ADDRESS),
        executor=executor if executor is not None else draw(ADDRESS),
        keeper=draw(ADDRESS),
        nonce=draw(UINT),
        valid_after=valid_after,
        deadline=draw(st.integers(min_value=valid_after, max_value=2**256 - 1)),
        sells=[TokenAmount(token=t, amount=a) for t, a in draw(legs)],
        buys=[TokenAmount(token=t, amount=a) for t, a in draw(legs)],
        fee_token=draw(NONZERO_ADDRESS),
        max_fee=draw(UINT),
    )


@st.composite
def orders(draw: st.DrawFn, max_legs: int = 4, executor: str | None = None) -> Order:
    """Any order the types accept: a random intent, signature and execution, each sell leg sent
    to the executor or straight to a random order/leg (``sell_to`` empty when none is direct,
    as :func:`keeper.settlement.abi.decode_orders` reads it back)."""
    intent = draw(intents(max_legs=max_legs, executor=executor))
    sells, buys = len(intent.sells), len(intent.buys)
    sell_to = draw(st.lists(DESTINATIONS, min_size=sells, max_size=sells))
    return Order(
        intent=intent,
        signature=draw(st.binary(max_size=140)),
        execution=Execution(
            sell_amounts=draw(st.lists(UINT, min_size=sells, max_size=sells)),
            buy_amounts=draw(st.lists(UINT, min_size=buys, max_size=buys)),
            fee=draw(UINT),
            sell_to=sell_to if any(t is not None for t in sell_to) else (),
        ),
    )
