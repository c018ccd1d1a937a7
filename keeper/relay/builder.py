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
   fee order. The builder checks the block holds exactly what the trials promised, else it
   restores the chain and raises :class:`RelayBuildError`.

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
from keeper.relay.execution import ChainOps, Execution, builder_order, decode_all
from keeper.relay.models import SendBundleParams, SendPrivateTxParams
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
        )
        txs = tuple(decode_all(params.txs))
        with self.lock:
            head = self.head_number()
            if params.block_number <= head:
                raise InvalidBundleError(
                    "blockNumber", f"{params.block_number} is not after {head}"
                )
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
            self._mine_final(record, accepted, block_txs, builder_order(public, base_fee))
            for order in accepted:
                self._remove_hash(order.hash)
            self.history.append(record)
            return record

    def _trial(self, txs: list[DecodedTx], stamp: int) -> tuple[Execution, int]:
        """Execute ``txs`` in a block at ``stamp``, measure the coinbase payment, undo it."""
        snapshot = self.ops.snapshot()
        try:
            execution = self.ops.execute(txs, stamp)
            after = self.ops.balance(execution.coinbase, execution.number)
            before = self.ops.balance(execution.coinbase, execution.number - 1)
        finally:
            self.ops.revert(snapshot)
        return execution, after - before

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
            execution, paid = self._trial(list(order.txs), stamp)
            problem = self._failure(order, execution)
            if problem is None:
                gas = sum(o.gas_used for o in execution.outcomes) or 1
                ranked.append((-paid / gas, order.seq, order))
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
                execution, _ = self._trial([*prefix, *order.txs], stamp)
                problem = self._failure(order, execution)
                if problem is not None:
                    record.waiting[order.hash] = f"conflicts with a higher-paying order: {problem}"
                    continue
            accepted.append(order)
        return accepted

    def _mine_final(
        self,
        record: BlockRecord,
        accepted: list[Order],
        order_txs: list[DecodedTx],
        public: list[DecodedTx],
    ) -> None:
        snapshot = self.ops.snapshot()
        execution = self.ops.execute([*order_txs, *public], record.timestamp)
        mined = [h.lower() for h in execution.block["transactions"]]
        expected = [tx.hash for tx in order_txs]
        problem = None
        if mined[: len(expected)] != expected:
            problem = (
                "block does not start with the accepted orders in order "
                "(is the upstream anvil running with --order fifo?)"
            )
        for order in accepted:
            if problem is None and (why := self._failure(order, execution)) is not None:
                problem = f"order {order.hash} differs from its simulation: {why}"
        if problem is not None:
            self.ops.revert(snapshot)
            self.ops.put_in_pool(public)
            raise RelayBuildError(record.number, problem)
        record.included = [o.hash for o in accepted]
        record.tx_hashes = mined
        record.public_txs = len(mined) - len(expected)
