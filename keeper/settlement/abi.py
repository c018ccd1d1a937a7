"""ABI of ``BatchExecutor.settle`` and decoding of the executor's custom errors.

Encoding goes straight through eth-abi (no contract object needed): one batch of hundreds of
orders encodes in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak, to_checksum_address

from keeper.intents.types import Interaction, Order

_TOKEN_AMOUNT = "(address,uint256)"
_INTENT = (
    f"(address,address,address,uint256,uint256,uint256,{_TOKEN_AMOUNT}[],{_TOKEN_AMOUNT}[],"
    "address,uint256)"
)
ORDER_TYPE = f"({_INTENT},bytes,(uint256[],uint256[],uint256))"
INTERACTION_TYPE = "(address,uint256,bytes)"
SETTLE_SIGNATURE = f"settle({ORDER_TYPE}[],{INTERACTION_TYPE}[])"
SETTLE_SELECTOR = keccak(text=SETTLE_SIGNATURE)[:4]
CHECK_ORDER_SIGNATURE = f"checkOrder({ORDER_TYPE},address)"
CHECK_ORDER_SELECTOR = keccak(text=CHECK_ORDER_SIGNATURE)[:4]
#: Solidity's Error(string) and Panic(uint256)
ERROR_STRING = keccak(text="Error(string)")[:4]
PANIC = keccak(text="Panic(uint256)")[:4]


def encode_settle(orders: Sequence[Order], interactions: Sequence[Interaction]) -> bytes:
    return SETTLE_SELECTOR + encode(
        [f"{ORDER_TYPE}[]", f"{INTERACTION_TYPE}[]"],
        [[o.as_abi() for o in orders], [i.as_abi() for i in interactions]],
    )


def encode_check_order(order: Order, keeper: str) -> bytes:
    return CHECK_ORDER_SELECTOR + encode([ORDER_TYPE, "address"], [order.as_abi(), keeper])


@dataclass(frozen=True)
class DecodedError:
    """A revert reason: custom error name and arguments, or the raw data when unknown."""

    name: str
    args: tuple[Any, ...] = ()
    selector: bytes = b""

    def __str__(self) -> str:
        shown = ", ".join("0x" + a.hex() if isinstance(a, bytes) else str(a) for a in self.args)
        return f"{self.name}({shown})"


def _signature(item: Mapping[str, Any]) -> tuple[str, list[str]]:
    def kind(arg: Mapping[str, Any]) -> str:
        t = str(arg["type"])
        if t.startswith("tuple"):
            return "(" + ",".join(kind(c) for c in arg["components"]) + ")" + t[len("tuple") :]
        return t

    types = [kind(arg) for arg in item.get("inputs", [])]
    return f"{item['name']}({','.join(types)})", types


class ErrorDecoder:
    """Decodes revert data and ``checkOrder`` statuses using the executor's ABI errors."""

    def __init__(self, abi: Iterable[Mapping[str, Any]]) -> None:
        self.by_selector: dict[bytes, tuple[str, list[str]]] = {}
        for item in abi:
            if item.get("type") == "error":
                signature, types = _signature(item)
                self.by_selector[keccak(text=signature)[:4]] = (str(item["name"]), types)

    def name(self, selector: bytes) -> str:
        if selector == b"\x00" * 4:
            return "ok"
        known = self.by_selector.get(bytes(selector))
        return known[0] if known else "0x" + bytes(selector).hex()

    def decode(self, data: bytes) -> DecodedError:
        selector, body = bytes(data[:4]), bytes(data[4:])
        if selector == ERROR_STRING:
            return DecodedError("Error", tuple(decode(["string"], body)), selector)
        if selector == PANIC:
            return DecodedError("Panic", tuple(decode(["uint256"], body)), selector)
        known = self.by_selector.get(selector)
        if known is None:
            return DecodedError("0x" + bytes(data).hex() if data else "revert", (), selector)
        name, types = known
        try:
            values = decode(types, body)
        except DecodingError:  # malformed body: keep the name, drop the arguments
            return DecodedError(name, (), selector)
        args = tuple(
            to_checksum_address(v) if t == "address" else v
            for t, v in zip(types, values, strict=True)
        )
        return DecodedError(name, args, selector)


@cache
def executor_abi() -> tuple[dict[str, Any], ...]:
    """The compiled BatchExecutor ABI of this project (loaded on first use)."""
    import ape

    return tuple(
        item.model_dump(mode="json", by_alias=True)
        for item in ape.project.BatchExecutor.contract_type.abi
    )


def executor_errors() -> ErrorDecoder:
    """The decoder for the compiled BatchExecutor's custom errors."""
    return ErrorDecoder(executor_abi())
