"""When the per-block pool reader falls back to a full read (chain-free: a scripted node)."""

from __future__ import annotations

import math

from keeper.settlement.pools import MINT_TOPIC, PoolSnapshots
from tests.keeper.routing.builders import snapshot, v2, v3

E18 = 10**18
TICK = int(math.log(3_000, 1.0001))
BASE = TICK // 60 * 60


def _snapshot(block: int):
    pools = [
        v2(0, 0, 1, 1_000 * E18, 3_000_000 * E18),
        v3(1, 0, 1, TICK, [(BASE - 6_000, BASE + 6_000, 10**22)]),
    ]
    snap = snapshot(pools, n_tokens=2)
    lo, hi = BASE - 256 * 60 * 4, BASE + 256 * 60 * 4
    v3_pool = snap.pools[1].model_copy(update={"tick_window": (lo, hi)})
    return snap.model_copy(update={"block_number": block, "pools": (snap.pools[0], v3_pool)})


class Node:
    """Answers the reader's batches from scripted chain facts."""

    def __init__(self) -> None:
        self.hashes = {10: "0xa", 11: "0xb", 12: "0xc"}
        self.reserves = (1_100 * E18, 2_900_000 * E18)
        self.tick = TICK + 5
        self.logs: list[dict] = []
        self.garbled = False
        self.batches = 0

    def __call__(self, calls):
        self.batches += 1
        answers = []
        for method, params in calls:
            if method == "eth_getBlockByNumber":
                answers.append({"result": {"hash": self.hashes[int(params[0], 16)]}})
            elif method == "eth_getLogs":
                answers.append({"result": self.logs})
            elif params[0]["data"] == "0x0902f1ac":  # getReserves
                r0, r1 = self.reserves
                words = "12" if self.garbled else f"{r0:064x}{r1:064x}{0:064x}"
                answers.append({"result": "0x" + words})
            elif params[0]["data"] == "0x3850c7bd":  # slot0
                tick = self.tick % (1 << 24)
                answers.append({"result": "0x" + f"{2**96:064x}{tick:064x}" + "0" * 64 * 5})
            else:  # liquidity
                answers.append({"result": "0x" + f"{10**22:064x}"})
        return answers


def _reader(node: Node, full_blocks: list[int]):
    def full_read():
        block = full_blocks.pop(0)
        return _snapshot(block)

    return PoolSnapshots(node, full_read)


def test_a_new_block_is_read_in_one_batch_with_the_new_state():
    node = Node()
    pools = _reader(node, [10])
    pools.at(10)
    batches = node.batches
    market = pools.at(11)
    assert (pools.full_reads, pools.incremental_reads, node.batches) == (1, 1, batches + 1)
    pair, pool = market.snapshot.pools
    assert (pair.reserve0, pair.reserve1) == node.reserves
    assert (pool.tick, pool.sqrt_price_x96, market.snapshot.block_number) == (TICK + 5, 2**96, 11)


def test_a_mint_or_burn_makes_it_read_everything_again():
    node = Node()
    pools = _reader(node, [10, 11])
    pools.at(10)
    node.logs = [{"topics": [MINT_TOPIC]}]
    pools.at(11)
    assert (pools.full_reads, pools.incremental_reads) == (2, 0)


def test_a_reorg_of_the_last_read_block_makes_it_read_everything_again():
    node = Node()
    pools = _reader(node, [10, 11])
    pools.at(10)
    node.hashes[10] = "0xother"
    pools.at(11)
    assert pools.full_reads == 2


def test_a_tick_near_the_edge_of_the_scanned_window_makes_it_scan_again():
    node = Node()
    pools = _reader(node, [10, 11])
    pools.at(10)
    node.tick = BASE + 256 * 60 * 4 - 100  # inside the window, within one word of its edge
    pools.at(11)
    assert pools.full_reads == 2


def test_a_failed_batch_falls_back_to_a_full_read():
    node = Node()
    pools = _reader(node, [10, 11])
    pools.at(10)
    node.garbled = True  # a short answer
    pools.at(11)
    assert pools.full_reads == 2
