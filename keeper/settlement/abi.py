"""Calldata of ``BatchExecutor.settle`` / ``checkOrder`` and decoding of its custom errors.

``settle(bytes orders, Interaction[] interactions)`` takes its orders packed (layout in
contracts/libraries/PackedOrders.sol and docs/INTENTS.md): big-endian fields, no padding, one
order after another. ABI-encoded orders cost ~6.2k calldata gas each, packed ones ~3.9k.
:func:`encode_orders` writes the packed form (:func:`decode_orders` reads it back, for tests and
tools); the outer call and the interactions are ABI-encoded by hand, word by word, and a
property test holds those bytes equal to eth-abi's. Errors are decoded through eth-abi.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi import decode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak, to_checksum_address

from keeper.intents.types import (
    DirectLeg,
    Execution,
    Interaction,
    Order,
    RebalanceIntent,
    TokenAmount,
)

INTERACTION_TYPE = "(address,uint256,bytes)"
SETTLE_SIGNATURE = f"settle(bytes,{INTERACTION_TYPE}[])"
SETTLE_SELECTOR = keccak(text=SETTLE_SIGNATURE)[:4]
CHECK_ORDER_SIGNATURE = "checkOrder(bytes,address)"
CHECK_ORDER_SELECTOR = keccak(text=CHECK_ORDER_SIGNATURE)[:4]
#: Solidity's Error(string) and Panic(uint256)
ERROR_STRING = keccak(text="Error(string)")[:4]
PANIC = keccak(text="Panic(uint256)")[:4]


#: a sell leg's to-order value that sends it to the executor
TO_EXECUTOR = 0xFFFF
_HEADER_SIZE, _SELL_SIZE, _BUY_SIZE = 224, 87, 84


def encode_settle(orders: Sequence[Order], interactions: Sequence[Interaction]) -> bytes:
    """``settle(encode_orders(orders), interactions)`` calldata (the bytes eth-abi produces)."""
    return SETTLE_SELECTOR + _dynamic(
        [_bytes(encode_orders(orders)), _array([_interaction(i) for i in interactions])]
    )


def encode_check_order(order: Order, keeper: str) -> bytes:
    """``checkOrder(encode_order(order), keeper)`` calldata."""
    return CHECK_ORDER_SELECTOR + _word(64) + _address(keeper) + _bytes(encode_order(order))


# -- packed orders ---------------------------------------------------------------------------


def encode_orders(orders: Sequence[Order]) -> bytes:
    """The ``orders`` argument of ``settle``: a 2-byte count, then each packed order.

    A direct leg (``execution.sell_to``) must name an order of this batch whose buy leg is in
    the sell leg's token; the contract reverts with InvalidRecipient otherwise."""
    if len(orders) >= TO_EXECUTOR:
        raise ValueError(f"a batch holds at most {TO_EXECUTOR - 1} orders, got {len(orders)}")
    return len(orders).to_bytes(2, "big") + b"".join(encode_order(o) for o in orders)


def encode_order(order: Order) -> bytes:
    """One packed order (``checkOrder``'s argument; ``settle``'s after the count). The intent's
    executor is not carried: the contract hashes the intent with its own address."""
    intent, execution = order.intent, order.execution
    signature = bytes(order.signature)
    parts = [
        _address20(intent.owner),
        _address20(intent.keeper),
        _word(intent.nonce),
        _word(intent.valid_after),
        _word(intent.deadline),
        _address20(intent.fee_token),
        _word(intent.max_fee),
        _word(execution.fee),
        bytes((len(intent.sells), len(intent.buys))),
        len(signature).to_bytes(2, "big"),
        signature,
    ]
    for j, leg in enumerate(intent.sells):
        to = execution.destination(j)
        parts += (
            _address20(leg.token),
            _word(leg.amount),
            _word(execution.sell_amounts[j]),
            (TO_EXECUTOR if to is None else to.order).to_bytes(2, "big"),
            bytes((0 if to is None else to.leg,)),
        )
    for j, leg in enumerate(intent.buys):
        parts += (_address20(leg.token), _word(leg.amount), _word(execution.buy_amounts[j]))
    return b"".join(parts)


def decode_orders(data: bytes, executor: str) -> list[Order]:
    """The orders of a packed ``settle`` argument (the inverse of :func:`encode_orders`; the
    executor, which the packed form does not carry, is given). ValueError if malformed."""
    data = bytes(data)
    if len(data) < 2:
        raise ValueError("packed orders: missing the 2-byte count")
    count, p, orders = int.from_bytes(data[:2], "big"), 2, []
    for index in range(count):
        order, p = _decode_order(data, p, executor, index)
        orders.append(order)
    if p != len(data):
        raise ValueError(f"packed orders: {len(data) - p} bytes after order {count - 1}")
    return orders


def _decode_order(data: bytes, p: int, executor: str, index: int) -> tuple[Order, int]:
    if p + _HEADER_SIZE > len(data):
        raise ValueError(f"packed orders: order {index} is cut short")

    def word(at: int) -> int:
        return int.from_bytes(data[p + at : p + at + 32], "big")

    def address(at: int) -> str:
        return to_checksum_address(data[p + at : p + at + 20])

    sells, buys = data[p + 220], data[p + 221]
    sig_length = int.from_bytes(data[p + 222 : p + 224], "big")
    end = p + _HEADER_SIZE + sig_length + sells * _SELL_SIZE + buys * _BUY_SIZE
    if end > len(data):
        raise ValueError(f"packed orders: order {index} is cut short")
    signature = data[p + 224 : p + 224 + sig_length]
    q = _HEADER_SIZE + sig_length  # the first leg, relative to p
    sell_legs, sell_amounts, sell_to = [], [], []
    for _ in range(sells):
        sell_legs.append(TokenAmount(token=address(q), amount=word(q + 20)))
        sell_amounts.append(word(q + 52))
        to_order, to_leg = int.from_bytes(data[p + q + 84 : p + q + 86], "big"), data[p + q + 86]
        sell_to.append(None if to_order == TO_EXECUTOR else DirectLeg(order=to_order, leg=to_leg))
        q += _SELL_SIZE
    buy_legs, buy_amounts = [], []
    for _ in range(buys):
        buy_legs.append(TokenAmount(token=address(q), amount=word(q + 20)))
        buy_amounts.append(word(q + 52))
        q += _BUY_SIZE
    intent = RebalanceIntent(
        owner=address(0),
        executor=executor,
        keeper=address(20),
        nonce=word(40),
        valid_after=word(72),
        deadline=word(104),
        sells=tuple(sell_legs),
        buys=tuple(buy_legs),
        fee_token=address(136),
        max_fee=word(156),
    )
    execution = Execution(
        sell_amounts=tuple(sell_amounts),
        buy_amounts=tuple(buy_amounts),
        fee=word(188),
        sell_to=tuple(sell_to) if any(t is not None for t in sell_to) else (),
    )
    return Order(intent=intent, signature=signature, execution=execution), end


# -- ABI encoding by hand -------------------------------------------------------------------
# eth-abi validates and encodes through a generic coder tree, which dominated a 64-order cycle
# when orders were ABI structs. The outer call and the interactions are written here word by
# word; a property test checks these bytes against eth-abi's.


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")  # OverflowError for negative or > uint256, as eth-abi


def _address(address: str) -> bytes:
    raw = bytes.fromhex(address[2:] if address[:2] in ("0x", "0X") else address)
    if len(raw) != 20:
        raise ValueError(f"not a 20-byte address: {address}")
    return b"\x00" * 12 + raw


def _address20(address: str) -> bytes:
    return _address(address)[12:]


def _bytes(data: bytes) -> bytes:
    return _word(len(data)) + data + b"\x00" * (-len(data) % 32)


def _dynamic(parts: Sequence[bytes], static: Sequence[bytes | None] | None = None) -> bytes:
    """A tuple whose component ``k`` is ``static[k]`` (inline) or, when that is None, the
    dynamic encoding ``parts[k]`` placed in the tail behind an offset."""
    static = static if static is not None else [None] * len(parts)
    head_size = 32 * len(static)
    heads, tails, offset = [], [], head_size
    for inline, part in zip(static, parts, strict=True):
        if inline is not None:
            heads.append(inline)
        else:
            heads.append(_word(offset))
            tails.append(part)
            offset += len(part)
    return b"".join(heads) + b"".join(tails)


def _array(elements: Sequence[bytes]) -> bytes:
    """A dynamic array of dynamic elements (offsets, then the elements)."""
    return _word(len(elements)) + _dynamic(list(elements))


def _interaction(interaction: Interaction) -> bytes:
    return _dynamic(
        [b"", b"", _bytes(interaction.call_data)],
        [_address(interaction.target), _word(interaction.value), None],
    )


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
    from keeper.chain.project import repo_project

    return tuple(
        item.model_dump(mode="json", by_alias=True)
        for item in repo_project().BatchExecutor.contract_type.abi
    )


def executor_errors() -> ErrorDecoder:
    """The decoder for the compiled BatchExecutor's custom errors."""
    return ErrorDecoder(executor_abi())
