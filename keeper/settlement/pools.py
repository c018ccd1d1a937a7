"""Pool state for each block in one JSON-RPC round trip, re-reading only what a block changes.

A full read (:func:`keeper.routing.state.read_market_snapshot`) takes five round trips and
re-reads what never changes: pool tokens, fees, tick spacings, token symbols and decimals, and
the V3 tick books. Per block only this can change:

* a V2 pair's reserves (``getReserves``);
* a V3 pool's price, tick and in-range liquidity (``slot0``, ``liquidity``) — by swaps;
* a V3 pool's tick book (initialised ticks and their ``liquidityNet``) — only by ``Mint`` and
  ``Burn``, whose logs are asked for in the same batch.

So each block is one batch pinned to the block number: reserves, slot0 and liquidity of every
pool, the V3 pools' Mint/Burn logs since the last read, and the hashes of the last read's block
and of this one. A full read happens at the start, when a Mint or Burn was logged, when a
pool's tick nears the edge of its scanned tick window, when the last read's block is no longer
on the chain (a reorg), after ``full_every`` blocks as a safety net, or when the batch fails in
any way. The result is the same :class:`Snapshot` a full read gives (a test
holds them equal), compiled into a routing :class:`Market`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from keeper.routing import Market, Snapshot, V2Pool, V3Pool
from keeper.routing.constants import MAX_TICK, MIN_TICK
from keeper.routing.exceptions import SnapshotError

GET_RESERVES = "0x0902f1ac"
SLOT0 = "0x3850c7bd"
LIQUIDITY = "0x1a686502"
#: keccak of Mint(address,address,int24,int24,uint128,uint256,uint256) and
#: Burn(address,int24,int24,uint128,uint256,uint256)
MINT_TOPIC = "0x7a53080ba414158be7ec69b987b5fb7d07dee101fe85488f0853ae16239d0bde"
BURN_TOPIC = "0x0c396cd989a39f4459b5fa1aed6a9a8dcdbc45908acfd67e028cd568da98982c"


def _word(data: str, index: int) -> int:
    start = 2 + 64 * index
    if len(data) < start + 64:
        raise SnapshotError("pools", f"short eth_call answer {data[:80]!r}")
    return int(data[start : start + 64], 16)


def _int24(word: int) -> int:
    value = word & ((1 << 24) - 1)
    return value - (1 << 24) if value >= 1 << 23 else value


class PoolSnapshots:
    """The routing market at a block, kept up to date incrementally (thread-safe).

    Args:
        rpc: a callable sending a list of ``(method, params)`` as one JSON-RPC batch and
            returning the answers in order (each a ``{"result"}`` or ``{"error"}`` object).
        full_read: reads the whole snapshot (at the latest block) — the slow, complete path.
        full_every: blocks after which a full read is done anyway.
    """

    def __init__(
        self,
        rpc: Callable[[list[tuple[str, list[Any]]]], list[dict[str, Any]]],
        full_read: Callable[[], Snapshot],
        *,
        full_every: int = 256,
    ) -> None:
        self.rpc = rpc
        self.full_read = full_read
        self.full_every = full_every
        self.snapshot: Snapshot | None = None
        self.market: Market | None = None
        self.full_block = -1  # block of the last full read
        self.block_hash: str | None = None  # hash of the snapshot's block
        self.full_reads = 0
        self.incremental_reads = 0
        self._lock = threading.Lock()

    def at(self, block: int) -> Market:
        """The market at ``block`` (normally the head the keeper is working on)."""
        with self._lock:
            if self.market is not None and self.snapshot is not None:
                if self.snapshot.block_number == block:
                    return self.market
                updated = self._incremental(self.snapshot, block)
                if updated is not None:
                    self.incremental_reads += 1
                    return self._keep(updated)
            self.full_reads += 1
            snapshot = self.full_read()
            self.full_block = snapshot.block_number
            self.block_hash = self._hash(snapshot.block_number)
            return self._keep(snapshot)

    def _hash(self, block: int) -> str | None:
        try:
            (answer,) = self.rpc([("eth_getBlockByNumber", [hex(block), False])])
            return str(answer["result"]["hash"])
        except (OSError, ValueError, KeyError, TypeError, SnapshotError):
            return None  # the next read is a full one

    def _keep(self, snapshot: Snapshot) -> Market:
        self.snapshot, self.market = snapshot, Market(snapshot)
        return self.market

    def _incremental(self, last: Snapshot, block: int) -> Snapshot | None:
        """``last`` brought to ``block``, or None when only a full read will do."""
        if (
            block < last.block_number
            or block - self.full_block >= self.full_every
            or self.block_hash is None
        ):
            return None
        tag = hex(block)
        calls: list[tuple[str, list[Any]]] = [
            ("eth_getBlockByNumber", [hex(last.block_number), False]),
            ("eth_getBlockByNumber", [tag, False]),
        ]
        v3 = [p.address for p in last.pools if isinstance(p, V3Pool)]
        for pool in last.pools:
            if isinstance(pool, V2Pool):
                calls.append(("eth_call", [{"to": pool.address, "data": GET_RESERVES}, tag]))
            else:
                calls.append(("eth_call", [{"to": pool.address, "data": SLOT0}, tag]))
                calls.append(("eth_call", [{"to": pool.address, "data": LIQUIDITY}, tag]))
        if v3:
            since = hex(last.block_number + 1)
            logs = {"fromBlock": since, "toBlock": tag, "address": v3}
            calls.append(("eth_getLogs", [{**logs, "topics": [[MINT_TOPIC, BURN_TOPIC]]}]))
        try:
            answers = self.rpc(calls)
            results = [a["result"] for a in answers]
        except (OSError, ValueError, KeyError, TypeError, SnapshotError):
            return None  # the full read reports what is wrong
        if len(results) != len(calls) or (v3 and results[-1]):  # liquidity was added/removed
            return None
        before, now = results[0], results[1]
        if not before or not now or before.get("hash") != self.block_hash:
            return None  # the last read's block left the chain
        pools: list[V2Pool | V3Pool] = []
        k = 2
        try:
            for pool in last.pools:
                if isinstance(pool, V2Pool):
                    data = str(results[k])
                    k += 1
                    reserves = {"reserve0": _word(data, 0), "reserve1": _word(data, 1)}
                    pools.append(pool.model_copy(update=reserves))
                    continue
                slot0, liquidity = str(results[k]), str(results[k + 1])
                k += 2
                tick = _int24(_word(slot0, 1))
                low, high = pool.tick_window
                margin = 256 * pool.tick_spacing  # one bitmap word
                # Near the edge of what was scanned (unless that edge is the end of all
                # ticks): scan again.
                if (low > MIN_TICK and tick < low + margin) or (
                    high < MAX_TICK and tick > high - margin
                ):
                    return None
                state = {"sqrt_price_x96": _word(slot0, 0), "tick": tick}
                pools.append(pool.model_copy(update={**state, "liquidity": _word(liquidity, 0)}))
        except SnapshotError:
            return None
        self.block_hash = str(now.get("hash"))
        return last.model_copy(update={"pools": tuple(pools), "block_number": block})


def http_batch(url: str, timeout: float = 30.0) -> Callable[[list[tuple[str, list[Any]]]], Any]:
    """A :class:`PoolSnapshots` ``rpc``: one HTTP POST per batch, one session per thread."""
    import requests

    local = threading.local()

    def send(calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        body = [
            {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
            for i, (method, params) in enumerate(calls)
        ]
        try:
            reply = session.post(url, json=body, timeout=timeout)
            reply.raise_for_status()
            answers = reply.json()
        except requests.RequestException as err:
            raise SnapshotError("rpc", f"{url}: {err}") from None
        if not isinstance(answers, list):
            raise SnapshotError("rpc", f"{url} does not answer JSON-RPC batches")
        by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
        return [by_id.get(i, {}) for i in range(len(calls))]

    return send
