"""What a mined settlement did, read from its receipt's ``IntentSettled`` events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi import decode
from eth_utils import keccak, to_checksum_address


@dataclass(frozen=True)
class SettledIntent:
    owner: str
    nonce: int
    sold: tuple[int, ...]
    received: tuple[int, ...]
    fee: int


def _hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text


def _decode_words(types: list[str], data: bytes) -> tuple[Any, ...]:
    """ABI-decode ``uint256`` and ``uint256[]`` values directly (eth-abi is ~1 ms per event,
    too slow for a 64-order batch every block); any other type goes through eth-abi."""
    if any(t not in ("uint256", "uint256[]") for t in types):
        return tuple(decode(types, data))

    def word(i: int) -> int:
        return int.from_bytes(data[i : i + 32], "big")

    out: list[Any] = []
    for k, kind in enumerate(types):
        head = word(32 * k)
        if kind == "uint256":
            out.append(head)
        else:
            length = word(head)
            out.append(tuple(word(head + 32 * (j + 1)) for j in range(length)))
    return tuple(out)


class SettledEvents:
    """Decodes ``IntentSettled`` as declared in the executor's ABI (indexed owner and nonce;
    sold, received and fee in the data), so a change of the event is picked up, not guessed."""

    def __init__(self, abi: Iterable[Mapping[str, Any]]) -> None:
        event = next(
            (e for e in abi if e.get("type") == "event" and e.get("name") == "IntentSettled"),
            None,
        )
        if event is None:
            raise ValueError("the executor ABI has no IntentSettled event")
        inputs = list(event["inputs"])
        signature = f"IntentSettled({','.join(str(i['type']) for i in inputs)})"
        self.topic = "0x" + keccak(text=signature).hex()
        self.indexed = [str(i["name"]) for i in inputs if i.get("indexed")]
        self.data_names = [str(i["name"]) for i in inputs if not i.get("indexed")]
        self.data_types = [str(i["type"]) for i in inputs if not i.get("indexed")]

    def decode(self, logs: Iterable[Mapping[str, Any]], executor: str) -> list[SettledIntent]:
        """The executor's ``IntentSettled`` events among ``logs`` (receipt order)."""
        found = []
        for log in logs:
            topics = [_hex(t).lower() for t in log.get("topics", [])]
            if not topics or topics[0] != self.topic:
                continue
            if str(log.get("address", "")).lower() != executor.lower():
                continue
            values = dict(zip(self.indexed, topics[1:], strict=False))
            data = _decode_words(self.data_types, bytes.fromhex(_hex(log["data"])[2:]))
            fields = dict(zip(self.data_names, data, strict=True))
            found.append(
                SettledIntent(
                    owner=to_checksum_address("0x" + values["owner"][-40:]),
                    nonce=int(values["nonce"], 16),
                    sold=tuple(fields.get("sold", ())),
                    received=tuple(fields.get("received", ())),
                    fee=int(fields.get("fee", 0)),
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
