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


def _is_address(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 42 or not value.startswith("0x"):
        return False
    try:
        bytes.fromhex(value[2:])
    except ValueError:
        return False
    return True


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

    BuilderNet extensions (docs/RELAY.md, "BuilderNet fields"):
        refund_percent: 1-99: that share of what ``refund_tx_hashes[0]`` (default: the last
            transaction) pays the block (priority fee + coinbase transfers) is paid back to
            ``refund_recipient`` (default: the first transaction's sender), less the refund
            transaction's own gas.
        refund_recipient / refund_tx_hashes (at most one) / delayed_refund (paid later by the
            refund pipeline instead of in the same block) / refund_identity (where BuilderNet's
            own fee refunds go instead of the signer).
        replacement_nonce: orders bundles that share a ``replacement_uuid``; a lower one than
            the latest accepted is ignored.
        dropping_tx_hashes: transactions that may be left out (but may not revert).
    """

    txs: tuple[bytes, ...]
    reverting_tx_hashes: tuple[str, ...] = ()
    replacement_uuid: str | None = None
    min_timestamp: int | None = None
    max_timestamp: int | None = None
    builders: tuple[str, ...] | None = field(default=None)
    refund_percent: int | None = None
    refund_recipient: str | None = None
    refund_tx_hashes: tuple[str, ...] = ()
    delayed_refund: bool | None = None
    refund_identity: str | None = None
    replacement_nonce: int | None = None
    dropping_tx_hashes: tuple[str, ...] = ()

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
        refund_percent: int | None = None,
        refund_recipient: str | None = None,
        refund_tx_hashes: Iterable[str] = (),
        delayed_refund: bool | None = None,
        refund_identity: str | None = None,
        replacement_nonce: int | None = None,
        dropping_tx_hashes: Iterable[str] = (),
    ) -> Bundle:
        """Build and validate a bundle (limits, hex, timestamps, refund fields)."""
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
            refund_percent=refund_percent,
            refund_recipient=refund_recipient,
            refund_tx_hashes=tuple(h.lower() for h in refund_tx_hashes),
            delayed_refund=delayed_refund,
            refund_identity=refund_identity,
            replacement_nonce=replacement_nonce,
            dropping_tx_hashes=tuple(h.lower() for h in dropping_tx_hashes),
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
        self._validate_buildernet()

    def _validate_buildernet(self) -> None:
        pct = self.refund_percent
        if pct is not None and (
            isinstance(pct, bool) or not isinstance(pct, int) or not 1 <= pct <= 99
        ):
            raise InvalidBundleError(
                "refundPercent", f"expected a whole percentage from 1 to 99, got {pct!r}"
            )
        for name, address in (
            ("refundRecipient", self.refund_recipient),
            ("refundIdentity", self.refund_identity),
        ):
            if address is not None and not _is_address(address):
                raise InvalidBundleError(
                    name, f"expected a 0x-prefixed 20-byte address, got {address!r}"
                )
        if len(self.refund_tx_hashes) > 1:
            raise InvalidBundleError(
                "refundTxHashes", f"at most 1 transaction hash, got {len(self.refund_tx_hashes)}"
            )
        for name, hashes in (
            ("refundTxHashes", self.refund_tx_hashes),
            ("droppingTxHashes", self.dropping_tx_hashes),
        ):
            unknown = set(hashes) - set(self.tx_hashes)
            if unknown:
                raise InvalidBundleError(name, f"not in the bundle: {sorted(unknown)}")
        refund_only = self.refund_recipient or self.refund_tx_hashes or self.delayed_refund
        if refund_only and pct is None:
            field_name = (
                "refundRecipient"
                if self.refund_recipient
                else ("refundTxHashes" if self.refund_tx_hashes else "delayedRefund")
            )
            raise InvalidBundleError(field_name, "has no effect without refundPercent")
        nonce = self.replacement_nonce
        if nonce is not None:
            if isinstance(nonce, bool) or not isinstance(nonce, int) or nonce < 0:
                raise InvalidBundleError(
                    "replacementNonce", f"expected a non-negative integer, got {nonce!r}"
                )
            if not self.replacement_uuid:
                raise InvalidBundleError("replacementNonce", "needs a replacementUuid")

    def buildernet_fields(self) -> dict[str, object]:
        """The BuilderNet extension fields that are set, by their wire names."""
        fields: dict[str, object] = {
            "replacementNonce": self.replacement_nonce,
            "droppingTxHashes": list(self.dropping_tx_hashes) or None,
            "refundTxHashes": list(self.refund_tx_hashes) or None,
            "refundPercent": self.refund_percent,
            "refundRecipient": self.refund_recipient,
            "delayedRefund": self.delayed_refund,
            "refundIdentity": self.refund_identity,
        }
        return {k: v for k, v in fields.items() if v is not None}

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
