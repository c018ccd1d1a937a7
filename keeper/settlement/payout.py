"""Refund payouts: a plain ETH transfer from the keeper's account, riding in a settlement bundle.

Builder refunds arrive in the keeper's account (``refundRecipient``), in ETH. A user whose
accrued share passes the payout threshold is paid with a transfer signed by the keeper and
placed in the bundle right after the settlement: the bundle lands whole or not at all, so a
payout is on-chain exactly when the settlement that carries it is. Why not a delivery leg of
the executor: the executor moves only what users signed (tokens pulled from their wallets and
the routes' outputs); paying the keeper's own ETH through it would need a new entry point that
takes value from the keeper, which is more contract surface for what a transfer already does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keeper.settlement.gas import FeeQuote

if TYPE_CHECKING:
    from ape.api import TransactionAPI

#: gas of a plain ETH transfer to an address without code
TRANSFER_GAS = 21_000


@dataclass(frozen=True)
class SignedPayout:
    owner: str
    amount: int
    raw: bytes
    tx_hash: str
    nonce: int


def payout_transaction(
    *, chain_id: int, sender: str, to: str, amount: int, nonce: int, fees: FeeQuote
) -> TransactionAPI:
    """The unsigned transfer (Ape EIP-1559 transaction), built without a provider."""
    from ape_ethereum.transactions import DynamicFeeTransaction

    return DynamicFeeTransaction(
        chainId=chain_id,
        receiver=to,
        sender=sender,
        data=b"",
        value=amount,
        nonce=nonce,
        gas=TRANSFER_GAS,
        maxFeePerGas=fees.max_fee,
        maxPriorityFeePerGas=fees.max_priority_fee,
    )


def sign_payout(
    account: Any, *, chain_id: int, to: str, amount: int, nonce: int, fees: FeeQuote
) -> SignedPayout:
    """Sign one payout with the keeper's Ape account."""
    from eth_utils import keccak

    from keeper.settlement.exceptions import UnsignedSettlementError

    tx = payout_transaction(
        chain_id=chain_id, sender=str(account.address), to=to, amount=amount, nonce=nonce, fees=fees
    )
    signed = account.sign_transaction(tx)
    if signed is None or not signed.signature:
        raise UnsignedSettlementError(str(account.address))
    raw = bytes(signed.serialize_transaction())
    return SignedPayout(to, amount, raw, "0x" + keccak(raw).hex(), nonce)
