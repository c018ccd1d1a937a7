"""A bundle of signed transactions, validated against the relay's limits, and raw-tx decoding.

A :class:`Bundle` is what the keeper hands to the relay client and the inclusion tracker: the
exact signed bytes that were simulated (the same object is simulated and sent). Its hash is the
Flashbots bundle hash: keccak256 of the concatenated transaction hashes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import rlp
from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes

from keeper.relay.constants import MAX_BUNDLE_BYTES, MAX_BUNDLE_TXS
from keeper.relay.exceptions import BundleTooLargeError, InvalidBundleError

RawTx = bytes | str


def raw_bytes(tx: RawTx, field_name: str = "txs") -> bytes:
    """``tx`` as bytes; accepts bytes or 0x-prefixed hex. Raises :class:`InvalidBundleError`."""
    if isinstance(tx, bytes | bytearray):
        data = bytes(tx)
    elif isinstance(tx, str) and tx.startswith("0x"):
        try:
            data = bytes.fromhex(tx[2:])
        except ValueError as err:
            raise InvalidBundleError(field_name, "not valid hex") from err
    else:
        raise InvalidBundleError(field_name, f"expected bytes or 0x-hex, got {type(tx).__name__}")
    if not data:
        raise InvalidBundleError(field_name, "empty transaction")
    return data


def tx_hash(raw: bytes) -> str:
    """The transaction hash of a signed raw transaction (0x-prefixed, lowercase)."""
    return "0x" + keccak(raw).hex()


def bundle_hash(tx_hashes: Iterable[str]) -> str:
    """keccak256 over the concatenated 32-byte transaction hashes (Flashbots' bundle hash)."""
    joined = b"".join(bytes.fromhex(h.removeprefix("0x")) for h in tx_hashes)
    return "0x" + keccak(joined).hex()


@dataclass(frozen=True)
class DecodedTx:
    """What a builder needs to know about a signed transaction."""

    hash: str
    sender: str
    nonce: int
    to: str | None
    tip_cap: int  # maxPriorityFeePerGas, or gasPrice for legacy transactions
    fee_cap: int  # maxFeePerGas, or gasPrice
    raw: bytes

    def effective_tip(self, base_fee: int) -> int:
        """Priority fee per gas the block's coinbase earns at ``base_fee``."""
        return max(0, min(self.tip_cap, self.fee_cap - base_fee))


def decode_tx(raw: bytes) -> DecodedTx:
    """Decode a signed legacy or typed (EIP-2718) transaction; else InvalidBundleError."""
    try:
        sender = to_checksum_address(Account.recover_transaction(raw))
        if raw[0] <= 0x7F:
            fields = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
            tip = int(fields.get("maxPriorityFeePerGas", fields.get("gasPrice", 0)))
            cap = int(fields.get("maxFeePerGas", fields.get("gasPrice", 0)))
            nonce, to = int(fields["nonce"]), fields.get("to")
        else:
            items = rlp.decode(raw)
            nonce = int.from_bytes(items[0], "big")
            tip = cap = int.from_bytes(items[1], "big")
            to = items[3]
    except (ValueError, TypeError, KeyError, IndexError, rlp.DecodingError) as err:
        raise InvalidBundleError("txs", f"cannot decode signed transaction: {err}") from err
    to_address = to_checksum_address(bytes(to)) if to else None
    return DecodedTx(tx_hash(raw), sender, nonce, to_address, tip, cap, raw)


@dataclass(frozen=True)
class Bundle:
    """Signed transactions to land atomically, in order, in one block.

    Args:
        txs: signed raw transactions (bytes or 0x-hex), executed in this order.
        reverting_tx_hashes: hashes of transactions allowed to revert without dropping the bundle.
        replacement_uuid: UUID that lets a later ``eth_cancelBundle`` (or a new bundle with the
            same UUID) cancel/replace this one.
        min_timestamp / max_timestamp: the bundle is valid only in blocks whose timestamp lies
            in this range (unix seconds).
        builders: builder names the Flashbots relay should share the bundle with.
    """

    txs: tuple[bytes, ...]
    reverting_tx_hashes: tuple[str, ...] = ()
    replacement_uuid: str | None = None
    min_timestamp: int | None = None
    max_timestamp: int | None = None
    builders: tuple[str, ...] | None = field(default=None)

    @classmethod
    def of(
        cls,
        txs: Sequence[RawTx],
        *,
        reverting_tx_hashes: Iterable[str] = (),
        replacement_uuid: str | None = None,
        min_timestamp: int | None = None,
        max_timestamp: int | None = None,
        builders: Iterable[str] | None = None,
    ) -> Bundle:
        """Build and validate a bundle (limits, hex, timestamps)."""
        if isinstance(txs, str | bytes):
            raise InvalidBundleError("txs", "expected a sequence of signed transactions")
        raw = tuple(raw_bytes(tx, f"txs[{i}]") for i, tx in enumerate(txs))
        bundle = cls(
            txs=raw,
            reverting_tx_hashes=tuple(h.lower() for h in reverting_tx_hashes),
            replacement_uuid=replacement_uuid,
            min_timestamp=min_timestamp,
            max_timestamp=max_timestamp,
            builders=tuple(builders) if builders is not None else None,
        )
        bundle.validate()
        return bundle

    def validate(self) -> None:
        """Enforce the relay's limits client-side, with an error naming the field."""
        if not self.txs:
            raise InvalidBundleError("txs", "a bundle needs at least one transaction")
        if len(self.txs) > MAX_BUNDLE_TXS:
            raise BundleTooLargeError("txs", len(self.txs), MAX_BUNDLE_TXS, "transactions")
        size = sum(len(tx) for tx in self.txs)
        if size > MAX_BUNDLE_BYTES:
            raise BundleTooLargeError("txs", size, MAX_BUNDLE_BYTES, "bytes")
        unknown = set(self.reverting_tx_hashes) - set(self.tx_hashes)
        if unknown:
            raise InvalidBundleError("revertingTxHashes", f"not in the bundle: {sorted(unknown)}")
        lo, hi = self.min_timestamp, self.max_timestamp
        if lo is not None and hi is not None and lo > hi:
            raise InvalidBundleError("minTimestamp", f"{lo} is after maxTimestamp {hi}")

    @cached_property
    def tx_hashes(self) -> tuple[str, ...]:
        return tuple(tx_hash(tx) for tx in self.txs)

    @property
    def hash(self) -> str:
        return bundle_hash(self.tx_hashes)

    @property
    def size_bytes(self) -> int:
        return sum(len(tx) for tx in self.txs)

    def hex_txs(self) -> list[str]:
        return ["0x" + tx.hex() for tx in self.txs]
