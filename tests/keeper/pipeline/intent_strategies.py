"""Hypothesis strategies for arbitrary (ABI-valid, not necessarily signable) rebalance intents."""

from __future__ import annotations

from hypothesis import strategies as st

from keeper.intents.types import RebalanceIntent, TokenAmount

UINT = st.integers(min_value=0, max_value=2**256 - 1)
ADDRESS = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
NONZERO_ADDRESS = ADDRESS.filter(lambda a: int(a, 16) != 0)


@st.composite
def intents(draw: st.DrawFn, max_legs: int = 4) -> RebalanceIntent:
    """Any intent the type accepts: every field random over its whole range."""
    legs = st.lists(st.tuples(ADDRESS, UINT), max_size=max_legs)
    valid_after = draw(UINT)
    return RebalanceIntent(
        owner=draw(NONZERO_ADDRESS),
        executor=draw(ADDRESS),
        keeper=draw(ADDRESS),
        nonce=draw(UINT),
        valid_after=valid_after,
        deadline=draw(st.integers(min_value=valid_after, max_value=2**256 - 1)),
        sells=[TokenAmount(token=t, amount=a) for t, a in draw(legs)],
        buys=[TokenAmount(token=t, amount=a) for t, a in draw(legs)],
        fee_token=draw(NONZERO_ADDRESS),
        max_fee=draw(UINT),
    )
