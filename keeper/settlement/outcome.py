"""What a mined settlement did, read from its receipt's ``IntentSettled`` events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi import decode
from eth_utils import keccak, to_checksum_address

INTENT_SETTLED_TOPIC = (
    "0x" + keccak(text="IntentSettled(address,uint256,address,uint256[],uint256[],uint256)").hex()
)


@dataclass(frozen=True)
class SettledIntent:
    owner: str
    nonce: int
    keeper: str
    sold: tuple[int, ...]
    received: tuple[int, ...]
    fee: int


def _hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text


def settled_intents(logs: Iterable[Mapping[str, Any]], executor: str) -> list[SettledIntent]:
    """Decode the executor's ``IntentSettled`` events among ``logs`` (receipt order)."""
    found = []
    for log in logs:
        topics = [_hex(t).lower() for t in log.get("topics", [])]
        if not topics or topics[0] != INTENT_SETTLED_TOPIC:
            continue
        if str(log.get("address", "")).lower() != executor.lower():
            continue
        sold, received, fee = decode(
            ["uint256[]", "uint256[]", "uint256"], bytes.fromhex(_hex(log["data"])[2:])
        )
        found.append(
            SettledIntent(
                owner=to_checksum_address("0x" + topics[1][-40:]),
                nonce=int(topics[2], 16),
                keeper=to_checksum_address("0x" + topics[3][-40:]),
                sold=tuple(sold),
                received=tuple(received),
                fee=int(fee),
            )
        )
    return found


def shortfalls(
    settled: Iterable[SettledIntent], quoted: Mapping[tuple[str, int], tuple[int, ...]]
) -> list[str]:
    """Where the chain delivered less than the simulated plan (or missed an intent)."""
    problems = []
    seen = {(s.owner, s.nonce): s for s in settled}
    for key, amounts in quoted.items():
        event = seen.get(key)
        if event is None:
            problems.append(f"{key[0]} nonce {key[1]}: no IntentSettled event")
            continue
        for j, (got, planned) in enumerate(zip(event.received, amounts, strict=False)):
            if got < planned:
                problems.append(f"{key[0]} nonce {key[1]} buy {j}: received {got} < {planned}")
    return problems
