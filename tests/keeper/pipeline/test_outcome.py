"""Decoding IntentSettled events: the fast path agrees with eth-abi, shortfalls are found."""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.settlement.outcome import SettledEvents, _decode_words, shortfalls

UINTS = st.lists(st.integers(min_value=0, max_value=2**256 - 1), max_size=6)
EVENT_ABI = [
    {
        "type": "event",
        "name": "IntentSettled",
        "inputs": [
            {"name": "owner", "type": "address", "indexed": True},
            {"name": "nonce", "type": "uint256", "indexed": True},
            {"name": "sold", "type": "uint256[]", "indexed": False},
            {"name": "received", "type": "uint256[]", "indexed": False},
            {"name": "fee", "type": "uint256", "indexed": False},
        ],
    }
]
EXECUTOR = "0x" + "11" * 20
OWNER = "0x" + "22" * 20


@settings(max_examples=200, deadline=None)
@given(UINTS, UINTS, st.integers(min_value=0, max_value=2**256 - 1))
def test_the_fast_decoder_agrees_with_eth_abi(sold, received, fee):
    types = ["uint256[]", "uint256[]", "uint256"]
    data = encode(types, [sold, received, fee])
    assert _decode_words(types, data) == (tuple(sold), tuple(received), fee)


def log(received: list[int], nonce: int = 5) -> dict:
    topic = "0x" + keccak(text="IntentSettled(address,uint256,uint256[],uint256[],uint256)").hex()
    return {
        "address": EXECUTOR,
        "topics": [topic, "0x" + "00" * 12 + OWNER[2:], "0x" + f"{nonce:064x}"],
        "data": "0x" + encode(["uint256[]", "uint256[]", "uint256"], [[1], received, 0]).hex(),
    }


def test_events_decode_and_a_delivery_below_the_simulation_is_a_shortfall():
    events = SettledEvents(EVENT_ABI)
    [settled] = events.decode([log([100, 7])], EXECUTOR)
    assert (settled.nonce, settled.received) == (5, (100, 7))
    assert events.decode([log([100])], "0x" + "33" * 20) == []  # another contract's event
    key = (settled.owner, 5)
    assert shortfalls([settled], {key: (100, 7)}) == []
    [problem] = shortfalls([settled], {key: (100, 8)})
    assert "received 7 < 8" in problem
    [missing] = shortfalls([], {key: (1,)})
    assert "no IntentSettled event" in missing
