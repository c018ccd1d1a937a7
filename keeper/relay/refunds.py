"""The local relay's refund rule and ledger (BuilderNet's ``refundPercent``, emulated).

BuilderNet (buildernet.org/docs/api, eth_sendBundle, "MEV Refunds"): a bundle that sets
``refundPercent`` gets that share of what its refund transaction (``refundTxHashes[0]``, else
its last transaction) paid the block — priority fee plus direct transfers to the coinbase,
measured as the builder's balance change — paid to ``refundRecipient`` (default: the sender of
the bundle's first transaction) by a transaction the builder appends, less that transaction's
own gas. With ``delayedRefund`` the refund goes through the refund pipeline later instead.

The local builder measures the payment in the trial that accepted the bundle, pays in-block
refunds at the end of the same block and delayed ones at the end of a later block, from a
refund wallet that is also the block's coinbase (so the builder's tips fund the refunds, as on
the real network), and keeps every refund in a :class:`RefundLedger` that the relay's
``buildernet_getFeeRefunds*`` and ``buildernet_getDelayedRefunds*`` methods read.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from keeper.relay.bundle import DecodedTx, decode_tx
from keeper.relay.models import FeeRefund

#: gas of the refund transfer (a plain ETH transfer to an EOA)
REFUND_TX_GAS = 21_000
#: the refund wallet's working capital (anvil_setBalance when the relay starts): refunds are
#: paid at block end, but anvil checks a transaction's funds when it enters the pool
WALLET_FLOAT_WEI = 10 * 10**18
#: a delayed refund is paid this many blocks after its bundle landed
DELAYED_REFUND_BLOCKS = 2
#: the local refund wallet's key (a fixed test key: the relay is for local chains only)
WALLET_KEY = "0x" + "7e" * 32


def refund_amount(paid_wei: int, percent: int, gas_cost_wei: int) -> int:
    """``percent`` % of what the bundle paid, less the refund transaction's gas (>= 0)."""
    return max(0, paid_wei * percent // 100 - gas_cost_wei)


@dataclass
class RefundEntry:
    bundle_hash: str
    block_number: int  # the block the bundle landed in
    recipient: str
    amount: int
    delayed: bool
    paid_wei: int  # what the refund transaction paid the block
    percent: int
    status: str = "pending"  # -> "received" once the refund transaction is mined
    tx_hash: str | None = None
    due_block: int = 0

    def wire(self) -> FeeRefund:
        return FeeRefund(
            hash=self.bundle_hash,
            amount=self.amount,
            block_number=self.block_number,
            status=self.status,
            recipient=self.recipient.lower(),
        )


@dataclass
class RefundLedger:
    """Every refund the local builder owes or paid (thread-safe)."""

    entries: list[RefundEntry] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, entry: RefundEntry) -> None:
        with self.lock:
            self.entries.append(entry)

    def due(self, block: int) -> list[RefundEntry]:
        with self.lock:
            return [e for e in self.entries if e.status == "pending" and e.due_block <= block]

    def query(
        self,
        *,
        bundle_hash: str | None = None,
        block: int | None = None,
        recipient: str | None = None,
        delayed: bool | None = None,
        block_range: tuple[int, int] | None = None,
    ) -> list[RefundEntry]:
        with self.lock:
            found = list(self.entries)
        if bundle_hash is not None:
            found = [e for e in found if e.bundle_hash == bundle_hash.lower()]
        if block is not None:
            found = [e for e in found if e.block_number == block]
        if recipient is not None:
            found = [e for e in found if e.recipient.lower() == recipient.lower()]
        if delayed is not None:
            found = [e for e in found if e.delayed == delayed]
        if block_range is not None:
            lo, hi = block_range
            found = [e for e in found if lo <= e.block_number <= hi]
        return found

    def totals(self, recipient: str, **filters: Any) -> tuple[int, int]:
        """(pending, received) wei for ``recipient``."""
        entries = self.query(recipient=recipient, **filters)
        pending = sum(e.amount for e in entries if e.status == "pending")
        return pending, sum(e.amount for e in entries if e.status == "received")


class RefundWallet:
    """The builder's refund account: signs the refund transfers, one nonce after another."""

    def __init__(self, chain_id: int, nonce: int, key: str = WALLET_KEY) -> None:
        self.account: LocalAccount = Account.from_key(key)
        self.chain_id = chain_id
        self.nonce = nonce

    @property
    def address(self) -> str:
        return str(self.account.address)

    def transfer(self, to: str, amount: int, base_fee: int) -> DecodedTx:
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": self.nonce,
            "to": to,
            "value": amount,
            "gas": REFUND_TX_GAS,
            "maxFeePerGas": max(2 * base_fee, 1),
            "maxPriorityFeePerGas": 0,
        }
        signed = self.account.sign_transaction(tx)
        self.nonce += 1
        return decode_tx(bytes(signed.raw_transaction))
