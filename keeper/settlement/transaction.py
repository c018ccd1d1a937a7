"""The settlement transaction: one object that is encoded, simulated, signed and sent.

``Settlement`` holds the orders and interactions; ``as_transaction`` turns it into an Ape
EIP-1559 transaction without sending it; ``sign`` returns the raw bytes that go into the bundle.
The call that is simulated (``call_params``) carries exactly the same calldata.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from keeper.intents.types import Interaction, Order
from keeper.settlement.abi import encode_settle
from keeper.settlement.exceptions import EmptySettlementError, UnsignedSettlementError
from keeper.settlement.gas import FeeQuote

if TYPE_CHECKING:
    from ape.api import AccountAPI, TransactionAPI


@dataclass(frozen=True)
class Settlement:
    """``executor.settle(orders, interactions)`` for the intents ``intent_ids`` (same order).

    ``quoted`` maps an intent id to the buy amounts the route was quoted to deliver: after
    inclusion, delivering less than that is a broken invariant.
    """

    executor: str
    chain_id: int
    orders: tuple[Order, ...]
    interactions: tuple[Interaction, ...]
    intent_ids: tuple[str, ...]
    quoted: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    #: intent id -> wei of its owner's builder refunds taken off its keeper fee (the fee in
    #: the order is already the lowered one)
    credits: Mapping[str, int] = field(default_factory=dict)
    #: intent id -> base units of its fee token the credit took off its fee
    credit_units: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.orders:
            raise EmptySettlementError()
        if len(self.orders) != len(self.intent_ids):
            raise ValueError("one intent id per order")

    @cached_property
    def calldata(self) -> bytes:
        return encode_settle(self.orders, self.interactions)

    def call_params(self, sender: str) -> dict[str, Any]:
        """Parameters of ``eth_call``/``eth_estimateGas`` for this exact calldata."""
        return {"from": sender, "to": self.executor, "data": "0x" + self.calldata.hex()}

    def without(self, intent_ids: set[str]) -> tuple[Order, ...]:
        """The orders left when ``intent_ids`` are dropped (to re-plan the rest)."""
        return tuple(
            o for o, i in zip(self.orders, self.intent_ids, strict=True) if i not in intent_ids
        )

    def as_transaction(
        self, *, sender: str, nonce: int, gas_limit: int, fees: FeeQuote
    ) -> TransactionAPI:
        """An unsigned EIP-1559 transaction (Ape) carrying :attr:`calldata`.

        Built directly (no provider needed): the keeper talks to its node with plain JSON-RPC,
        and Ape only signs.
        """
        from ape_ethereum.transactions import DynamicFeeTransaction

        return DynamicFeeTransaction(
            chainId=self.chain_id,
            receiver=self.executor,
            sender=sender,
            data=self.calldata,
            value=0,
            nonce=nonce,
            gas=gas_limit,
            maxFeePerGas=fees.max_fee,
            maxPriorityFeePerGas=fees.max_priority_fee,
        )


@dataclass(frozen=True)
class SignedSettlement:
    settlement: Settlement
    raw: bytes
    tx_hash: str
    sender: str
    nonce: int
    gas_limit: int
    fees: FeeQuote


def sign(
    settlement: Settlement,
    account: AccountAPI,
    *,
    nonce: int,
    gas_limit: int,
    fees: FeeQuote,
) -> SignedSettlement:
    """Sign the settlement with an Ape account (an alias unlocked by Ape, never a raw key)."""
    from eth_utils import keccak

    tx = settlement.as_transaction(
        sender=str(account.address), nonce=nonce, gas_limit=gas_limit, fees=fees
    )
    signed = account.sign_transaction(tx)
    if signed is None or not signed.signature:
        raise UnsignedSettlementError(str(account.address))
    raw = bytes(signed.serialize_transaction())
    return SignedSettlement(
        settlement=settlement,
        raw=raw,
        tx_hash="0x" + keccak(raw).hex(),
        sender=str(account.address),
        nonce=nonce,
        gas_limit=gas_limit,
        fees=fees,
    )
