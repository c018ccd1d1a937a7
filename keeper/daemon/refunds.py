"""Passing builder refunds back to the users whose intents earned them (the daemon's side).

- Every bundle the keeper sends asks for ``relay.refund_percent`` (BuilderNet's
  ``refundPercent``), measured on the settlement transaction and paid to the keeper's account.
- When a settlement is confirmed its bundle is recorded; every ``refunds.poll_every_blocks`` the
  relay is asked (``buildernet_getFeeRefundsByBundle``) what that bundle earned, and the answer is
  recorded and split over the bundle's intents by the per-order gas model
  (:mod:`keeper.intents.refunds`).
- An owner's balance is taken off the keeper fee of their next intents (the planner's
  ``credit_source``) and, once it reaches ``refunds.payout_threshold_wei``, paid out by a transfer
  from the keeper's account in a later settlement's bundle (:mod:`keeper.settlement.payout`).
- Both are debits reserved (write-ahead) when the bundle is submitted, spent when its settlement
  is confirmed and void when it is given up: the ledger survives a crash at any point.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from keeper.config import KeeperSettings
from keeper.daemon.chainview import ChainView
from keeper.daemon.metrics import KeeperMetrics
from keeper.intents.refunds import FEE_CREDIT, PAYOUT, Debit, RefundBook, ReportedRefund
from keeper.intents.states import IntentState
from keeper.intents.store import IntentStore
from keeper.relay.bundle import Bundle
from keeper.settlement.attribution import order_gas
from keeper.settlement.payout import TRANSFER_GAS, SignedPayout, sign_payout
from keeper.settlement.plan import stored_intent
from keeper.settlement.transaction import SignedSettlement

log = logging.getLogger("keeper.refunds")


class RefundPassing:
    """The refund path of one keeper (None in the pipeline when refunds are off)."""

    def __init__(
        self,
        settings: KeeperSettings,
        store: IntentStore,
        chain: ChainView,
        relay: Any,
        metrics: KeeperMetrics,
        *,
        chain_id: int,
        account: Any = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.book = RefundBook(store.engine)
        self.chain = chain
        self.relay = relay
        self.metrics = metrics
        self.chain_id = chain_id
        self.account = account
        #: settlement tx hash -> the payouts signed into its bundle
        self._payouts: dict[str, list[SignedPayout]] = {}

    # -- planning -------------------------------------------------------------------------
    def credits(self, owners: Sequence[str]) -> dict[str, int]:
        """Owner -> wei that may come off their keeper fees (the planner's credit source)."""
        if not self.settings.refunds.credit_fees:
            return {}
        return {o: v for o, v in self.book.balances(owners).items() if v > 0}

    # -- the bundle -----------------------------------------------------------------------
    def bundle(self, signed: SignedSettlement) -> Bundle:
        """The settlement, the payouts due, and the refund fields, as one bundle."""
        payouts = self._payouts_for(signed)
        self._payouts = {signed.tx_hash.lower(): payouts}  # one bundle in the making at a time
        # BuilderNet's own (flat-tax) fee refunds go to the keeper's account too, not to the
        # reputation key that signs the requests: the refunds it passes on are all in one place
        options: dict[str, Any] = {"refund_identity": signed.sender}
        percent = self.settings.relay.refund_percent
        if percent is not None:
            options |= {
                "refund_percent": percent,
                "refund_recipient": signed.sender,
                "refund_tx_hashes": [signed.tx_hash],
                "delayed_refund": self.settings.relay.delayed_refund or None,
            }
        return Bundle.of([signed.raw, *(p.raw for p in payouts)], **options)

    def _payouts_for(self, signed: SignedSettlement) -> list[SignedPayout]:
        cfg = self.settings.refunds
        if cfg.payout_threshold_wei is None or not cfg.max_payouts_per_bundle or not self.account:
            return []
        credited: dict[str, int] = defaultdict(int)
        for order, intent_id in zip(
            signed.settlement.orders, signed.settlement.intent_ids, strict=True
        ):
            credited[order.intent.owner.lower()] += signed.settlement.credits.get(intent_id, 0)
        due = sorted(
            (
                (amount - credited[owner], owner)
                for owner, amount in self.book.balances().items()
                if amount - credited[owner] >= cfg.payout_threshold_wei
            ),
            reverse=True,
        )
        fees = signed.fees
        # the keeper pays: the settlement's gas at most, then each transfer and its gas
        budget = self.chain.balance(signed.sender) - signed.gas_limit * fees.max_fee
        payouts: list[SignedPayout] = []
        for amount, owner in due:
            if len(payouts) >= cfg.max_payouts_per_bundle:
                break
            cost = amount + TRANSFER_GAS * fees.max_fee
            if cost > budget or self.chain.has_code(owner):
                continue  # a contract wallet may refuse a plain transfer: fee credits only
            budget -= cost
            payouts.append(
                sign_payout(
                    self.account,
                    chain_id=self.chain_id,
                    to=_checksum(owner),
                    amount=amount,
                    nonce=signed.nonce + 1 + len(payouts),
                    fees=fees,
                )
            )
        return payouts

    def reserve(self, signed: SignedSettlement, bundle: Bundle, block: int) -> None:
        """Write-ahead, before the bundle is sent: the credits and payouts it carries."""
        settlement = signed.settlement
        owners = {
            i: o.intent.owner for i, o in zip(settlement.intent_ids, settlement.orders, strict=True)
        }
        debits = [
            Debit(owners[i], FEE_CREDIT, wei, intent_id=i, fee_units=settlement.credit_units.get(i))
            for i, wei in settlement.credits.items()
        ]
        debits += [
            Debit(p.owner, PAYOUT, p.amount, payout_tx_hash=p.tx_hash)
            for p in self._payouts.pop(signed.tx_hash.lower(), [])
            if p.tx_hash in bundle.tx_hashes
        ]
        if debits:
            self.book.reserve(signed.tx_hash, debits, block)

    # -- outcomes -------------------------------------------------------------------------
    def landed(self, tx_hash: str, bundle_hash: str, block: int, intent_ids: Sequence[str]) -> None:
        """A settlement is confirmed: its debits are spent, its bundle awaits refunds."""
        first = self._first_submitted(tx_hash, intent_ids)
        self.book.bundle_landed(bundle_hash, tx_hash, block, first)
        for debit in self.book.resolve(tx_hash, landed=True, block=block):
            self.metrics.refunds_passed_on.labels(kind=debit.kind).inc(debit.amount)
        if first is not None:
            self.metrics.inclusion_blocks.observe(block - first)

    def missed(self, tx_hash: str) -> None:
        self.book.resolve(tx_hash, landed=False)

    def _first_submitted(self, tx_hash: str, intent_ids: Sequence[str]) -> int | None:
        """The block at which this settlement's bundle was first submitted."""
        if not intent_ids:
            return None
        blocks = [
            t.block_number
            for t in self.store.history(intent_ids[0])
            if t.target is IntentState.SUBMITTED
            and (t.tx_hash or "").lower() == tx_hash.lower()
            and t.block_number is not None
        ]
        return min(blocks) if blocks else None

    def poll(self, block: int) -> None:
        """Ask the relay what the open bundles earned, record and attribute it."""
        cfg = self.settings.refunds
        for bundle_hash in self.book.open_bundles(
            block, cfg.poll_every_blocks, cfg.poll_window_blocks
        ):
            answer = self.relay.fee_refunds_by_bundle(bundle_hash)
            reported = [
                ReportedRefund(
                    source=self.relay.refund_source,
                    amount=r.amount,
                    block_number=r.block_number,
                    status=r.status,
                    recipient=r.recipient,
                )
                for r in answer.refunds
                if r.hash.lower() == bundle_hash.lower()
            ]
            gas_of = {
                intent_id: (owner, order_gas(stored_intent(_json(payload)).intent))
                for intent_id, owner, payload in self.book.settled_intents(bundle_hash)
            }
            added = self.book.record_refunds(bundle_hash, _merge(reported), gas_of, block)
            if added:
                self.metrics.refunds_received.inc(added)
                log.info("bundle %s earned %d wei of refunds", bundle_hash, added)


def _merge(reported: list[ReportedRefund]) -> list[ReportedRefund]:
    """One row per source: several refund rows of one bundle (e.g. delayed and in-block)
    add up."""
    if len(reported) <= 1:
        return reported
    first = reported[0]
    status = "received" if all(r.status == "received" for r in reported) else "pending"
    total = sum(r.amount for r in reported)
    return [ReportedRefund(first.source, total, first.block_number, status, first.recipient)]


def _json(payload: str) -> Any:
    import json

    return json.loads(payload)


def _checksum(address: str) -> str:
    from eth_utils import to_checksum_address

    return str(to_checksum_address(address))
