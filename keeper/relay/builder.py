"""The local relay's block builder: queued bundles and private transactions -> the next block.

The builder is the only block producer of its anvil (automine and interval mining are switched
off when the relay starts). Building block N (:meth:`BlockBuilder.build_block`):

1. Orders (bundles for N, private transactions still valid at N) whose time window excludes
   N's timestamp wait; orders whose last block has passed are dropped ("expired").
2. Public pool transactions are taken out of anvil's pool.
3. Each order is simulated alone at the top of N (trial: snapshot, execute, revert). A bundle
   with a failing transaction not listed in ``revertingTxHashes`` is dropped; so is any order
   whose transaction anvil refuses (nonce too low). A reverting private transaction waits for
   the next block, as Flashbots Protect does.
4. Orders are ranked by coinbase payment per gas and merged greedily, each re-simulated on top
   of those already accepted; one that no longer succeeds is left out.
5. The block is mined once: accepted orders first, in rank order, then the public transactions in
   fee order, then the refund transfers due (:mod:`keeper.relay.refunds`: BuilderNet's
   ``refundPercent``, measured in the trial that accepted the bundle). The builder checks the
   block holds exactly what the trials promised, else it restores the chain and raises
   :class:`RelayBuildError`.

Orders are never placed in anvil's pool except inside steps 3-5, with the builder's lock held,
immediately followed by ``evm_mine``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from keeper.relay.bundle import Bundle, DecodedTx
from keeper.relay.constants import PRIVATE_TX_DEFAULT_BLOCKS
from keeper.relay.exceptions import InvalidBundleError, RelayBuildError
from keeper.relay.execution import ChainOps, Execution, builder_order, decode_all, value_sent_to
from keeper.relay.models import SendBundleParams, SendPrivateTxParams
from keeper.relay.refunds import (
    DELAYED_REFUND_BLOCKS,
    REFUND_TX_GAS,
    RefundEntry,
    RefundLedger,
    RefundWallet,
    refund_amount,
)
from keeper.relay.upstream import Upstream


@dataclass
class Order:
    """A bundle (or a private transaction as a one-transaction bundle) waiting for a block."""

    hash: str
    txs: tuple[DecodedTx, ...]
    first_block: int
    last_block: int
    signer: str
    kind: str  # "bundle" | "private"
    seq: int
    reverting: frozenset[str] = frozenset()
    uuid: str | None = None
    min_timestamp: int | None = None
    max_timestamp: int | None = None
    #: BuilderNet refund: percent, recipient, the measured transaction, delayed or not
    refund_percent: int | None = None
    refund_recipient: str | None = None
    refund_tx: str | None = None
    delayed_refund: bool = False
    #: what ``refund_tx`` paid the block in the trial that accepted the order (wei)
    refund_paid: int = 0
    #: the base fee of the block being built, as that trial showed it
    block_base_fee: int = 0

    def allowed(self, outcome_hash: str) -> bool:
        return outcome_hash in self.reverting


@dataclass
class BlockRecord:
    """What the builder did for one block (for tests, logs and the demo)."""

    number: int
    timestamp: int
    with_orders: bool
    included: list[str] = field(default_factory=list)  # order hashes, in block order
    dropped: dict[str, str] = field(default_factory=dict)  # order hash -> reason
    waiting: dict[str, str] = field(default_factory=dict)  # order hash -> why not this block
    public_txs: int = 0
    tx_hashes: list[str] = field(default_factory=list)
    refunds: list[str] = field(default_factory=list)  # refund transfers mined at block end


class BlockBuilder:
    """Queue of orders plus block production on an anvil with automine off."""

    def __init__(self, upstream: Upstream, clock: Callable[[], float] = time.time) -> None:
        self.ops = ChainOps(upstream)
        self.up = upstream
        self.clock = clock
        self.lock = threading.RLock()
        self.orders: list[Order] = []
        self.history: list[BlockRecord] = []
        self._seq = itertools.count()
        self.ledger = RefundLedger()
        #: pays refunds (set by the relay when it starts; None: refunds are not paid)
        self.wallet: RefundWallet | None = None
        #: latest replacementNonce accepted per (signer, replacementUuid)
        self._replacement_nonces: dict[tuple[str, str], int] = {}

    # ------------------------------------------------------------------ intake

    def head_number(self) -> int:
        return int(self.up.call("eth_blockNumber"), 16)

    def add_bundle(self, params: SendBundleParams, signer: str) -> str:
        """Queue a bundle for ``params.block_number``; a same-signer UUID replaces the old one."""
        bundle = Bundle.of(
            params.txs,
            reverting_tx_hashes=params.reverting_tx_hashes or (),
            replacement_uuid=params.replacement_uuid,
            min_timestamp=params.min_timestamp,
            max_timestamp=params.max_timestamp,
            refund_percent=params.refund_percent,
            refund_recipient=params.refund_recipient,
            refund_tx_hashes=params.refund_tx_hashes or (),
            delayed_refund=params.delayed_refund,
            replacement_nonce=params.replacement_nonce,
        )
        txs = tuple(decode_all(params.txs))
        with self.lock:
            head = self.head_number()
            if params.block_number <= head:
                raise InvalidBundleError(
                    "blockNumber", f"{params.block_number} is not after {head}"
                )
            if params.replacement_uuid and params.replacement_nonce is not None:
                key = (signer, params.replacement_uuid)
                latest = self._replacement_nonces.get(key)
                if latest is not None and params.replacement_nonce < latest:
                    return bundle.hash  # older than the accepted one: ignored, as documented
                self._replacement_nonces[key] = params.replacement_nonce
            if params.replacement_uuid:
                self._remove(lambda o: o.uuid == params.replacement_uuid and o.signer == signer)
            self.orders.append(
                Order(
                    hash=bundle.hash,
                    txs=txs,
                    first_block=params.block_number,
                    last_block=params.block_number,
                    signer=signer,
                    kind="bundle",
                    seq=next(self._seq),
                    reverting=frozenset(bundle.reverting_tx_hashes),
                    uuid=params.replacement_uuid,
                    min_timestamp=params.min_timestamp,
                    max_timestamp=params.max_timestamp,
                    refund_percent=bundle.refund_percent,
                    refund_recipient=bundle.refund_recipient or txs[0].sender,
                    refund_tx=(bundle.refund_tx_hashes or bundle.tx_hashes[-1:])[0],
                    delayed_refund=bool(bundle.delayed_refund),
                )
            )
        return bundle.hash

    def cancel_bundle(self, uuid: str, signer: str) -> int:
        with self.lock:
            return self._remove(lambda o: o.uuid == uuid and o.signer == signer)

    def add_private(self, params: SendPrivateTxParams, signer: str) -> str:
        (tx,) = decode_all([params.tx], "tx")
        with self.lock:
            head = self.head_number()
            last = params.max_block_number or head + PRIVATE_TX_DEFAULT_BLOCKS
            if last <= head:
                raise InvalidBundleError("maxBlockNumber", f"{last} is not after {head}")
            self._remove(lambda o: o.kind == "private" and o.hash == tx.hash)
            order = Order(tx.hash, (tx,), head + 1, last, signer, "private", next(self._seq))
            self.orders.append(order)
        return tx.hash

    def cancel_private(self, tx_hash: str, signer: str) -> bool:
        with self.lock:
            wanted = tx_hash.lower()
            return self._remove(lambda o: o.kind == "private" and o.hash == wanted) > 0

    def _remove_hash(self, order_hash: str) -> int:
        return self._remove(lambda o: o.hash == order_hash)

    def _remove(self, match: Callable[[Order], bool]) -> int:
        before = len(self.orders)
        self.orders = [o for o in self.orders if not match(o)]
        return before - len(self.orders)

    # ------------------------------------------------------------------ building

    def next_timestamp(self, head: dict[str, str]) -> int:
        return max(int(head["timestamp"], 16) + 1, int(self.clock()))

    def build_block(self, with_orders: bool = True) -> BlockRecord:
        """Build and mine the next block. ``with_orders=False`` models a proposer that does not
        use the relay: only public transactions are included and this block's bundles miss."""
        with self.lock:
            head = self.up.head()
            number = int(head["number"], 16) + 1
            stamp = self.next_timestamp(head)
            record = BlockRecord(number, stamp, with_orders)
            for order in [o for o in self.orders if o.last_block < number]:
                record.dropped[order.hash] = f"expired: last block {order.last_block} passed"
            self._remove(lambda o: o.last_block < number)

            public = self.ops.take_public_pool()
            base_fee = int(head.get("baseFeePerGas") or "0x0", 16)
            accepted = self._select(number, stamp, record) if with_orders else []
            block_txs = [tx for order in accepted for tx in order.txs]
            ordered = builder_order(public, base_fee)
            owed, refund_txs = self._refunds_due(number, accepted, head)
            self._mine_final(record, accepted, block_txs, ordered, refund_txs)
            for order in accepted:
                self._remove_hash(order.hash)
            for entry, tx in zip(owed, refund_txs, strict=True):
                entry.status, entry.tx_hash = "received", tx.hash
                record.refunds.append(tx.hash)
                if not any(e is entry for e in self.ledger.entries):
                    self.ledger.add(entry)
            for entry in self._delayed_entries(number, accepted):
                self.ledger.add(entry)
            self.history.append(record)
            return record

    def _refund_entry(self, order: Order, number: int) -> RefundEntry:
        assert order.refund_percent is not None and order.refund_recipient is not None
        # the refund transfer pays no tip: its cost is its gas at the block's base fee
        cost = 0 if order.delayed_refund else REFUND_TX_GAS * order.block_base_fee
        return RefundEntry(
            bundle_hash=order.hash,
            block_number=number,
            recipient=order.refund_recipient,
            amount=refund_amount(order.refund_paid, order.refund_percent, cost),
            delayed=order.delayed_refund,
            paid_wei=order.refund_paid,
            percent=order.refund_percent,
            due_block=number + (DELAYED_REFUND_BLOCKS if order.delayed_refund else 0),
        )

    def _refunds_due(
        self, number: int, accepted: list[Order], head: dict[str, str]
    ) -> tuple[list[RefundEntry], list[DecodedTx]]:
        """The refunds to pay at the end of block ``number`` and their signed transfers: the
        in-block refunds of this block's bundles, and delayed refunds now due."""
        if self.wallet is None:
            return [], []
        from keeper.settlement.gas import next_base_fee

        # an upper bound for the transfers' maxFeePerGas (the trials show the exact base fee)
        base_fee = max(
            [o.block_base_fee for o in accepted]
            + [
                next_base_fee(
                    int(head.get("baseFeePerGas") or "0x0", 16),
                    int(head.get("gasUsed") or "0x0", 16),
                    int(head.get("gasLimit") or "0x0", 16),
                )
            ]
        )
        owed = [
            self._refund_entry(o, number)
            for o in accepted
            if o.refund_percent is not None and not o.delayed_refund
        ]
        owed = [e for e in owed if e.amount > 0] + self.ledger.due(number)
        if not owed:
            return [], []
        self.wallet.nonce = int(
            self.up.call("eth_getTransactionCount", self.wallet.address, "latest"), 16
        )
        return owed, [self.wallet.transfer(e.recipient, e.amount, base_fee) for e in owed]

    def _delayed_entries(self, number: int, accepted: list[Order]) -> list[RefundEntry]:
        if self.wallet is None:
            return []
        entries = [
            self._refund_entry(o, number)
            for o in accepted
            if o.refund_percent is not None and o.delayed_refund
        ]
        return [e for e in entries if e.amount > 0]

    def _trial(
        self, txs: list[DecodedTx], stamp: int, measure: str | None = None
    ) -> tuple[Execution, int, int]:
        """Execute ``txs`` in a block at ``stamp``, measure the coinbase payment, undo it.

        Returns the execution, what all of it paid the coinbase, and what transaction
        ``measure`` alone paid it (priority fee + transfers to the coinbase; 0 if not given).
        """
        snapshot = self.ops.snapshot()
        try:
            execution = self.ops.execute(txs, stamp)
            after = self.ops.balance(execution.coinbase, execution.number)
            before = self.ops.balance(execution.coinbase, execution.number - 1)
            measured = 0
            for outcome in execution.outcomes:
                if measure is not None and outcome.tx.hash == measure and outcome.included:
                    tip = outcome.effective_gas_price - execution.base_fee
                    trace = self.ops.call_trace(outcome.tx.hash)
                    measured = outcome.gas_used * tip + value_sent_to(trace, execution.coinbase)
        finally:
            self.ops.revert(snapshot)
        return execution, after - before, measured

    @staticmethod
    def _failure(order: Order, execution: Execution) -> str | None:
        for outcome in execution.outcomes:
            if outcome.tx.hash not in {t.hash for t in order.txs}:
                continue
            if not outcome.included:
                return f"tx {outcome.tx.hash} not included: {outcome.problem}"
            if outcome.status != 1 and not order.allowed(outcome.tx.hash):
                return f"tx {outcome.tx.hash} reverted"
        return None

    def _select(self, number: int, stamp: int, record: BlockRecord) -> list[Order]:
        ranked: list[tuple[float, int, Order]] = []
        for order in [o for o in self.orders if o.first_block <= number]:
            if order.min_timestamp is not None and stamp < order.min_timestamp:
                record.waiting[order.hash] = f"block timestamp {stamp} < minTimestamp"
                continue
            if order.max_timestamp is not None and stamp > order.max_timestamp:
                record.waiting[order.hash] = f"block timestamp {stamp} > maxTimestamp"
                continue
            execution, paid, order.refund_paid = self._trial(
                list(order.txs), stamp, self._measured(order)
            )
            order.block_base_fee = execution.base_fee
            problem = self._failure(order, execution)
            if problem is None:
                gas = sum(o.gas_used for o in execution.outcomes) or 1
                # what the builder keeps ranks the order: a refund lowers the bid
                kept = paid - order.refund_paid * (order.refund_percent or 0) // 100
                ranked.append((-kept / gas, order.seq, order))
            elif order.kind == "private" and "nonce too low" not in problem:
                record.waiting[order.hash] = f"simulation failed: {problem}"
            else:
                record.dropped[order.hash] = f"simulation failed: {problem}"
                self._remove_hash(order.hash)
        ranked.sort(key=lambda item: item[:2])
        accepted: list[Order] = []
        for position, (_, _, order) in enumerate(ranked):
            if position > 0:
                prefix = [tx for o in accepted for tx in o.txs]
                execution, _, paid_here = self._trial(
                    [*prefix, *order.txs], stamp, self._measured(order)
                )
                order.refund_paid = paid_here
                problem = self._failure(order, execution)
                if problem is not None:
                    record.waiting[order.hash] = f"conflicts with a higher-paying order: {problem}"
                    continue
            accepted.append(order)
        return accepted

    def _measured(self, order: Order) -> str | None:
        return order.refund_tx if order.refund_percent is not None and self.wallet else None

    def _mine_final(
        self,
        record: BlockRecord,
        accepted: list[Order],
        order_txs: list[DecodedTx],
        public: list[DecodedTx],
        refunds: list[DecodedTx] = (),  # type: ignore[assignment]
    ) -> None:
        snapshot = self.ops.snapshot()
        execution = self.ops.execute([*order_txs, *public, *refunds], record.timestamp)
        mined = [h.lower() for h in execution.block["transactions"]]
        expected = [tx.hash for tx in order_txs]
        problem = None
        if mined[: len(expected)] != expected:
            problem = (
                "block does not start with the accepted orders in order "
                "(is the upstream anvil running with --order fifo?)"
            )
        unpaid = [
            o.tx.hash for o in execution.outcomes[len(order_txs) + len(public) :] if not o.succeeded
        ]
        if problem is None and unpaid:
            problem = f"refund transfers not mined: {unpaid}"
        for order in accepted:
            if problem is None and (why := self._failure(order, execution)) is not None:
                problem = f"order {order.hash} differs from its simulation: {why}"
        if problem is not None:
            self.ops.revert(snapshot)
            self.ops.put_in_pool(public)
            raise RelayBuildError(record.number, problem)
        record.included = [o.hash for o in accepted]
        record.tx_hashes = mined
        record.public_txs = len(mined) - len(expected) - len(refunds)
