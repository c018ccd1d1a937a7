"""Executing transactions on anvil the way a block builder does: in a chosen order, in one block.

anvil has no ``eth_callBundle``; what it has is a transaction pool, ``evm_mine`` with a chosen
timestamp, and ``evm_snapshot``/``evm_revert``. A *trial* is: snapshot, put the transactions in the
(otherwise empty) pool in order, mine one block, read receipts and traces, revert. The upstream
anvil must run with ``--order fifo`` so a block holds the transactions in the order they were
put in the pool; the builder verifies that order after every block it builds.

``evm_revert`` also empties anvil's pool, so the public transactions waiting there are taken out
first (:meth:`ChainOps.take_public_pool`) and put back afterwards.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from keeper.relay.bundle import DecodedTx, decode_tx
from keeper.relay.exceptions import InvalidBundleError, UpstreamError
from keeper.relay.upstream import Upstream, UpstreamRpcError


@dataclass(frozen=True)
class TxOutcome:
    """What happened to one transaction in a mined (trial or final) block."""

    tx: DecodedTx
    included: bool
    status: int | None = None  # 1 success, 0 reverted; None when not included
    gas_used: int = 0
    effective_gas_price: int = 0
    problem: str | None = None  # why it was not included

    @property
    def succeeded(self) -> bool:
        return self.included and self.status == 1


@dataclass(frozen=True)
class Execution:
    block: dict[str, Any]
    outcomes: tuple[TxOutcome, ...]

    @property
    def number(self) -> int:
        return int(self.block["number"], 16)

    @property
    def base_fee(self) -> int:
        return int(self.block.get("baseFeePerGas") or "0x0", 16)

    @property
    def coinbase(self) -> str:
        return str(self.block["miner"])


def builder_order(txs: Sequence[DecodedTx], base_fee: int) -> list[DecodedTx]:
    """Order public transactions as a fee-greedy builder does.

    Per sender, nonces stay in order; among the senders' next transactions the highest effective
    priority fee goes first (ties: the order first seen).
    """
    by_sender: dict[str, list[tuple[int, int, DecodedTx]]] = {}
    for index, tx in enumerate(txs):
        by_sender.setdefault(tx.sender, []).append((tx.nonce, index, tx))
    queues = {s: sorted(items) for s, items in by_sender.items()}
    heap: list[tuple[int, int, str]] = []
    for sender, items in queues.items():
        _, index, tx = items[0]
        heapq.heappush(heap, (-tx.effective_tip(base_fee), index, sender))
    ordered: list[DecodedTx] = []
    position = dict.fromkeys(queues, 0)
    while heap:
        _, _, sender = heapq.heappop(heap)
        items = queues[sender]
        ordered.append(items[position[sender]][2])
        position[sender] += 1
        if position[sender] < len(items):
            _, index, tx = items[position[sender]]
            heapq.heappush(heap, (-tx.effective_tip(base_fee), index, sender))
    return ordered


class ChainOps:
    """Builder primitives over an anvil node with automine off."""

    def __init__(self, upstream: Upstream) -> None:
        self.up = upstream

    def snapshot(self) -> str:
        return str(self.up.call("evm_snapshot"))

    def revert(self, snapshot_id: str) -> None:
        if self.up.call("evm_revert", snapshot_id) is not True:
            raise UpstreamError("evm_revert", f"snapshot {snapshot_id} was not restored")

    def take_public_pool(self) -> list[DecodedTx]:
        """Remove every pending/queued transaction from anvil's pool and return them."""
        content = self.up.call("txpool_content") or {}
        hashes = [
            tx["hash"]
            for section in ("pending", "queued")
            for by_nonce in (content.get(section) or {}).values()
            for tx in by_nonce.values()
        ]
        taken: list[DecodedTx] = []
        for tx_hash in hashes:
            raw = self.up.call("eth_getRawTransactionByHash", tx_hash)
            if raw:
                taken.append(decode_tx(bytes.fromhex(raw[2:])))
        if hashes:
            self.up.call("anvil_dropAllTransactions")
        return taken

    def put_in_pool(self, txs: Sequence[DecodedTx]) -> dict[str, str]:
        """Send ``txs`` to the pool in order; returns {hash: error} for those refused."""
        refused: dict[str, str] = {}
        for tx in txs:
            reply = self.up.request("eth_sendRawTransaction", ["0x" + tx.raw.hex()])
            if reply.get("error"):
                refused[tx.hash] = str(reply["error"].get("message"))
        return refused

    def mine(self, timestamp: int) -> dict[str, Any]:
        self.up.call("evm_mine", {"timestamp": timestamp, "blocks": 1})
        block: dict[str, Any] = self.up.call("eth_getBlockByNumber", "latest", False)
        return block

    def execute(self, txs: Sequence[DecodedTx], timestamp: int) -> Execution:
        """Put ``txs`` in the (empty) pool in order, mine one block, and report each one."""
        refused = self.put_in_pool(txs)
        block = self.mine(timestamp)
        number = block["number"]
        outcomes = []
        for tx in txs:
            if tx.hash in refused:
                outcomes.append(TxOutcome(tx, included=False, problem=refused[tx.hash]))
                continue
            receipt = self.up.call("eth_getTransactionReceipt", tx.hash)
            if receipt is None or receipt.get("blockNumber") != number:
                problem = "not executable in this block (nonce gap or gas limit)"
                outcomes.append(TxOutcome(tx, included=False, problem=problem))
                continue
            outcomes.append(
                TxOutcome(
                    tx,
                    included=True,
                    status=int(receipt["status"], 16),
                    gas_used=int(receipt["gasUsed"], 16),
                    effective_gas_price=int(receipt["effectiveGasPrice"], 16),
                )
            )
        return Execution(block, tuple(outcomes))

    def balance(self, address: str, block_number: int) -> int:
        return int(self.up.call("eth_getBalance", address, hex(block_number)), 16)

    def call_trace(self, tx_hash: str) -> dict[str, Any]:
        """The callTracer trace (``output``, ``error``, nested ``calls``) of a mined tx."""
        try:
            trace: dict[str, Any] = self.up.call(
                "debug_traceTransaction", tx_hash, {"tracer": "callTracer"}
            )
        except UpstreamRpcError:
            return {}
        return trace or {}


def value_sent_to(trace: dict[str, Any], address: str) -> int:
    """Wei moved to ``address`` by successful calls anywhere in a callTracer trace."""
    if trace.get("error"):
        return 0
    total = 0
    if str(trace.get("to", "")).lower() == address.lower() and trace.get("type") == "CALL":
        total += int(trace.get("value") or "0x0", 16)
    for child in trace.get("calls") or ():
        total += value_sent_to(child, address)
    return total


def decode_all(txs: Sequence[str], field: str = "txs") -> list[DecodedTx]:
    """Decode 0x-hex signed transactions, naming the failing index."""
    decoded = []
    for i, tx in enumerate(txs):
        try:
            decoded.append(decode_tx(bytes.fromhex(tx.removeprefix("0x"))))
        except ValueError as err:
            raise InvalidBundleError(f"{field}[{i}]", "not valid hex") from err
        except InvalidBundleError as err:
            raise InvalidBundleError(f"{field}[{i}]", err.problem) from err
    return decoded
