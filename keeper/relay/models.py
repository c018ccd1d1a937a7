"""Wire formats of the Flashbots relay JSON-RPC API, as pydantic models.

Field names are the relay's (camelCase). Quantities follow the relay's own conventions: block
numbers are hex strings (``"0xb63dcd"``), wei amounts in ``eth_callBundle`` results are decimal
strings (``"20000000000126000"``), gas is a JSON number. Models accept what the relay sends and
serialise back to the same shapes, so the local relay and the client share one definition.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
)
from pydantic.alias_generators import to_camel


def _to_int(value: Any) -> Any:
    """Accept ints, hex strings (``0x..``) and decimal strings."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower().startswith("0x"):
            return int(text, 16) if len(text) > 2 else 0
        return int(text)
    return value


#: An integer carried as a hex string on the wire (block numbers).
HexInt = Annotated[
    int, BeforeValidator(_to_int), PlainSerializer(lambda v: hex(v), return_type=str)
]
#: A wei amount carried as a decimal string on the wire.
WeiStr = Annotated[
    int, BeforeValidator(_to_int), PlainSerializer(lambda v: str(v), return_type=str)
]
#: An integer carried as a JSON number (gas), also accepted as hex.
Quantity = Annotated[int, BeforeValidator(_to_int)]


def _hex_data(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, str) and not value.startswith("0x"):
        raise ValueError("must be 0x-prefixed hex")
    return value


#: 0x-prefixed hex data (signed transactions, hashes).
HexData = Annotated[str, BeforeValidator(_hex_data)]


class WireModel(BaseModel):
    """Base: snake_case in Python, camelCase on the wire; unknown wire fields are kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel)

    def wire(self) -> dict[str, Any]:
        """The JSON-ready dict, without unset optional fields."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


# ---------------------------------------------------------------- JSON-RPC envelope


class JsonRpcError(WireModel):
    code: int
    message: str
    data: Any = None


class JsonRpcRequest(WireModel):
    jsonrpc: str = "2.0"
    id: int | str | None = 1
    method: str
    params: list[Any] = Field(default_factory=list)


class JsonRpcResponse(WireModel):
    jsonrpc: str = "2.0"
    id: int | str | None = None
    result: Any = None
    error: JsonRpcError | None = None


class LegacyErrorBody(WireModel):
    """The pre-JSON-RPC error body older relay gateways sent with HTTP 4xx: ``{"error": "..."}``."""

    error: str


# ---------------------------------------------------------------- request params


class SendBundleParams(WireModel):
    """``eth_sendBundle`` parameters: the Flashbots fields plus the BuilderNet extensions
    (docs/RELAY.md, "BuilderNet fields", gives each one's meaning and source)."""

    txs: list[HexData]
    block_number: HexInt
    min_timestamp: int | None = None
    max_timestamp: int | None = None
    reverting_tx_hashes: list[HexData] | None = None
    replacement_uuid: str | None = None
    builders: list[str] | None = None
    # -- BuilderNet extensions (buildernet.org/docs/api, eth_sendBundle)
    replacement_nonce: int | None = Field(default=None, ge=0)
    dropping_tx_hashes: list[HexData] | None = None
    refund_tx_hashes: list[HexData] | None = Field(default=None, max_length=1)
    refund_percent: int | None = Field(default=None, ge=1, le=99)
    refund_recipient: HexData | None = None
    delayed_refund: bool | None = None
    refund_identity: HexData | None = None

    @field_validator("txs")
    @classmethod
    def _not_empty(cls, txs: list[str]) -> list[str]:
        if not txs:
            raise ValueError("a bundle needs at least one transaction")
        return txs

    @field_validator("refund_recipient", "refund_identity")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and len(value) != 42:
            raise ValueError("must be a 20-byte 0x address")
        return value


class CallBundleParams(WireModel):
    txs: list[HexData]
    block_number: HexInt
    state_block_number: str | int = "latest"
    timestamp: int | None = None

    @field_validator("txs")
    @classmethod
    def _not_empty(cls, txs: list[str]) -> list[str]:
        if not txs:
            raise ValueError("a bundle needs at least one transaction")
        return txs


class CancelBundleParams(WireModel):
    replacement_uuid: str


class PrivateTxPreferences(WireModel):
    fast: bool | None = None
    privacy: dict[str, Any] | None = None
    validity: dict[str, Any] | None = None


class SendPrivateTxParams(WireModel):
    tx: HexData
    max_block_number: HexInt | None = None
    preferences: PrivateTxPreferences | None = None


class CancelPrivateTxParams(WireModel):
    tx_hash: HexData


# ---------------------------------------------------------------- results


class SendBundleResult(WireModel):
    bundle_hash: HexData
    smart: str | None = None
    #: BuilderNet: when the node received the bundle (Unix ms, may carry fractions)
    received_timestamp_ms: float | None = None


# ---------------------------------------------------------------- BuilderNet refund queries


class FeeRefund(WireModel):
    """One refund row of ``buildernet_getFeeRefunds*`` / ``buildernet_getDelayedRefunds``."""

    hash: HexData  # the bundle (or transaction) hash the refund is for
    amount: HexInt  # wei
    block_number: HexInt  # the block the order landed in
    status: str  # "pending" | "received"
    recipient: HexData

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        if value not in ("pending", "received"):
            raise ValueError(f"expected 'pending' or 'received', got {value!r}")
        return value


class FeeRefundsResult(WireModel):
    """``buildernet_getFeeRefundsByBundle`` / ``ByBlock`` / ``ByRecipient``."""

    refunds: list[FeeRefund] = Field(default_factory=list)
    cursor: str | None = None


class FeeRefundTotals(WireModel):
    """``buildernet_getFeeRefundTotalsByRecipient``."""

    pending: HexInt
    received: HexInt
    max_block_number: HexInt


class DelayedRefundsResult(WireModel):
    """``buildernet_getDelayedRefunds``."""

    refunds: list[FeeRefund] = Field(default_factory=list)
    next_cursor: str | None = None
    indexed_up_to: HexInt | None = None


class DelayedRefundTotals(WireModel):
    """``buildernet_getDelayedRefundTotalsByRecipient``."""

    indexed_up_to: HexInt
    pending: HexInt
    received: HexInt


class CallBundleTxResult(WireModel):
    tx_hash: HexData
    gas_used: Quantity
    gas_price: WeiStr
    gas_fees: WeiStr
    coinbase_diff: WeiStr
    eth_sent_to_coinbase: WeiStr
    from_address: str
    to_address: str | None = None
    value: str | None = None
    error: str | None = None
    revert: str | None = None

    @property
    def reverted(self) -> bool:
        return self.error is not None or self.revert is not None


class CallBundleResult(WireModel):
    bundle_gas_price: WeiStr
    bundle_hash: HexData
    coinbase_diff: WeiStr
    eth_sent_to_coinbase: WeiStr
    gas_fees: WeiStr
    results: list[CallBundleTxResult]
    state_block_number: Quantity
    total_gas_used: Quantity

    @property
    def first_revert(self) -> CallBundleTxResult | None:
        """The first transaction that reverted, if any."""
        return next((r for r in self.results if r.reverted), None)
