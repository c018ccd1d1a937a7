"""Follow a bundle across target blocks until it lands or cannot land any more.

Flashbots turned its bundle/user stats endpoints off in 2025 (they answer 403), so inclusion is
read from the chain: the receipts of the bundle's own transactions. A bundle targets one block;
when that block is built without it, the tracker re-sends it for the next block (simulating it
first, if asked), up to ``last_block``.

Usage::

    tracker = InclusionTracker(client, w3)
    pending = tracker.submit(bundle, max_blocks=5)
    report = pending.wait(timeout=120)     # or pending.poll() from your own loop, once per block
    if report.included: ...report.block_number, report.gas_used, report.effective_gas_prices
    else: ...report.reason
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address

from keeper.relay.bundle import Bundle, decode_tx
from keeper.relay.client import RelayClient
from keeper.relay.exceptions import InvalidBundleError, NoRelayAcceptedError, RelayError

if TYPE_CHECKING:
    from web3 import Web3


class MissReason(StrEnum):
    """Why a bundle did not land (inferred from the chain and from simulation)."""

    SIMULATION_REVERTED = "reverted in simulation"
    DEADLINE_PASSED = "deadline passed"
    NONCE_USED = "a transaction's nonce was used by another transaction"
    PARTIAL = "only part of the bundle landed"
    REJECTED = "every relay rejected the bundle"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class InclusionReport:
    """Where a bundle landed, or why it did not."""

    included: bool
    bundle_hash: str
    tx_hashes: tuple[str, ...]
    targets: tuple[int, ...]  # blocks it was sent for, in order
    block_number: int | None = None
    gas_used: int | None = None
    effective_gas_prices: tuple[int, ...] = ()
    reason: MissReason | None = None
    detail: str = ""

    def __str__(self) -> str:
        if self.included:
            return f"bundle {self.bundle_hash} included in block {self.block_number}"
        return f"bundle {self.bundle_hash} not included: {self.reason}: {self.detail}".rstrip(": ")


class InclusionTimeoutError(RelayError):
    """:meth:`TrackedBundle.wait` ran out of time while the bundle was still in flight."""

    def __init__(self, bundle_hash: str, seconds: float, target: int) -> None:
        self.bundle_hash, self.seconds, self.target = bundle_hash, seconds, target
        super().__init__(f"bundle {bundle_hash}: still pending for block {target} after {seconds}s")


@dataclass
class TrackedBundle:
    """A bundle in flight. Call :meth:`poll` (cheap) after each new block, or :meth:`wait`."""

    tracker: InclusionTracker
    bundle: Bundle
    last_block: int
    targets: list[int] = field(default_factory=list)
    report: InclusionReport | None = None

    def _finish(self, reason: MissReason, detail: str = "") -> InclusionReport:
        self.report = InclusionReport(
            included=False,
            bundle_hash=self.bundle.hash,
            tx_hashes=self.bundle.tx_hashes,
            targets=tuple(self.targets),
            reason=reason,
            detail=detail,
        )
        return self.report

    def send_for(self, block: int) -> InclusionReport | None:
        """Simulate (if enabled) and send the bundle for ``block``; a report if it cannot."""
        tracker = self.tracker
        if tracker.simulate:
            sim = tracker.client.call_bundle(self.bundle, block)
            allowed = set(self.bundle.reverting_tx_hashes)
            failed = [r for r in sim.results if r.reverted and r.tx_hash.lower() not in allowed]
            if failed:
                first = failed[0]
                detail = f"tx {first.tx_hash}: {first.error or 'reverted'} {first.revert or ''}"
                return self._finish(MissReason.SIMULATION_REVERTED, detail.strip())
        try:
            tracker.client.send_bundle(self.bundle, block)
        except NoRelayAcceptedError as err:
            return self._finish(MissReason.REJECTED, str(err))
        self.targets.append(block)
        return None

    def poll(self) -> InclusionReport | None:
        """Check the chain; re-send for the next block if the target passed. None = in flight."""
        if self.report is not None:
            return self.report
        w3 = self.tracker.w3
        # The head first: receipts read after it cover at least that block, so a bundle that
        # lands while this runs is never taken for a miss (its nonce is checked at ``head``).
        head = int(w3.eth.block_number)
        receipts = {h: self.tracker.receipt(h) for h in self.bundle.tx_hashes}
        landed = {h: r for h, r in receipts.items() if r is not None}
        if landed:
            blocks = {int(r["blockNumber"]) for r in landed.values()}
            if len(landed) == len(receipts) and len(blocks) == 1:
                ordered = [receipts[h] for h in self.bundle.tx_hashes]
                self.report = InclusionReport(
                    included=True,
                    bundle_hash=self.bundle.hash,
                    tx_hashes=self.bundle.tx_hashes,
                    targets=tuple(self.targets),
                    block_number=blocks.pop(),
                    gas_used=sum(int(r["gasUsed"]) for r in ordered if r),
                    effective_gas_prices=tuple(int(r["effectiveGasPrice"]) for r in ordered if r),
                )
                return self.report
            if len(landed) < len(receipts) and max(blocks) > head:
                return None  # a block arrived between the receipt reads: read them again
            detail = f"{len(landed)}/{len(receipts)} transactions in blocks {sorted(blocks)}"
            return self._finish(MissReason.PARTIAL, detail)
        if self.targets and head < self.targets[-1]:
            return None
        for raw in self.bundle.txs:
            tx = decode_tx(raw)
            if int(w3.eth.get_transaction_count(to_checksum_address(tx.sender), head)) > tx.nonce:
                return self._finish(MissReason.NONCE_USED, f"{tx.sender} nonce {tx.nonce}")
        if head + 1 > self.last_block:
            return self._finish(MissReason.DEADLINE_PASSED, f"last block {self.last_block}")
        return self.send_for(head + 1)

    def cancel(self) -> InclusionReport:
        """Stop re-sending; cancel at the relays when the bundle has a replacement UUID."""
        if self.report is not None:
            return self.report
        if self.bundle.replacement_uuid:
            self.tracker.client.cancel_bundle(self.bundle.replacement_uuid)
        return self._finish(MissReason.CANCELLED)

    def wait(self, timeout: float = 120.0, interval: float = 0.2) -> InclusionReport:
        """Poll until a report is available; :class:`InclusionTimeoutError` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while (report := self.poll()) is None:
            if time.monotonic() > deadline:
                target = self.targets[-1] if self.targets else -1
                raise InclusionTimeoutError(self.bundle.hash, timeout, target)
            time.sleep(interval)
        return report


class InclusionTracker:
    """Submit bundles through a :class:`RelayClient` and follow them on chain.

    Args:
        client: the relay client (its first URL also simulates).
        w3: a web3 connection to a node of the chain the bundle targets (reads only).
        simulate: run ``eth_callBundle`` before every send and stop on a revert.
    """

    def __init__(self, client: RelayClient, w3: Web3, *, simulate: bool = True) -> None:
        self.client = client
        self.w3 = w3
        self.simulate = simulate

    def receipt(self, tx_hash: str) -> Any:
        from web3.exceptions import TransactionNotFound

        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def submit(
        self,
        bundle: Bundle,
        *,
        first_block: int | None = None,
        max_blocks: int = 5,
        last_block: int | None = None,
    ) -> TrackedBundle:
        """Send ``bundle`` for ``first_block`` (default: the next block) and track it until
        ``last_block`` (default: ``first_block + max_blocks - 1``)."""
        first = first_block if first_block is not None else int(self.w3.eth.block_number) + 1
        last = last_block if last_block is not None else first + max_blocks - 1
        if last < first:
            raise InvalidBundleError("last_block", f"{last} is before the first block {first}")
        tracked = TrackedBundle(self, bundle, last)
        tracked.send_for(first)
        return tracked
