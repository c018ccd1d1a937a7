"""The keeper waits out its node's and relay's outages (issue 15, problems 7 and 8): started
while the node does not answer, it waits with backoff and says so, then runs; one broken read
costs one request per keeper attempt (web3's own retries are off in the daemon's wiring).

A real ``keeper run`` process reading through a fault-injecting proxy on loopback.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests

from keeper.config import load_settings
from keeper.daemon.daemon import build, wait_for
from keeper.devstack.faultproxy import FaultProxy
from keeper.devstack.localstack import KEEPER_SIGNER, KeeperProcess, local_stack
from keeper.rpc import RETRIES, RpcError
from tests.integration.test_keeper_inflight_edges import _weth_for_usdc

pytestmark = [pytest.mark.fork, pytest.mark.slow]

PORTFOLIOS = {"alice": {"WETH": 10}}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with local_stack(tmp_path_factory.mktemp("outages"), PORTFOLIOS, block_time=1.0) as s:
        yield s


def test_a_keeper_started_while_the_node_is_down_waits_and_says_so_then_settles(stack, tmp_path):
    alice = stack.users[0]
    with FaultProxy(stack.relay.url) as node:
        node.down = True  # every request dropped: a node being restarted

        def come_back() -> None:  # after the keeper has asked (and backed off) a few times
            if wait_for(lambda: node.counts["drop"] >= 3, timeout=120, interval=0.05):
                node.clear()

        back = threading.Thread(target=come_back, daemon=True)
        back.start()
        keeper = KeeperProcess(stack, tmp_path / "k", rpc_url=node.url)
        try:
            keeper.start(timeout=90)  # raised ProcessError when the keeper exited instead
            log = (tmp_path / "k" / "keeper.log").read_text()
            assert "waiting for the node at" in log and "retry in" in log
            body = _weth_for_usdc(stack, alice, nonce=7, ttl=600)
            intent_id = requests.post(f"{keeper.url}/intents", json=body, timeout=10).json()["id"]

            def settled() -> bool:
                answer = requests.get(f"{keeper.url}/intents/{intent_id}", timeout=5)
                return bool(answer.json()["state"] == "settled")

            assert wait_for(settled, timeout=60)
            assert keeper.stop() == 0
        finally:
            node.clear()
            back.join()
            keeper.kill()


def test_the_daemons_node_reads_are_not_retried_inside_web3(stack, tmp_path):
    with FaultProxy(stack.relay.url) as node:
        parts = build(
            load_settings(
                data_dir=tmp_path / "k",
                rpc_url=node.url,
                signer=KEEPER_SIGNER,
                relay={"urls": [stack.relay.url]},
                intake={"enabled": False},
                metrics={"enabled": False},
            ),
            stack.deployments_file,
        )
        try:
            node.force("http_502", 100)
            started = time.monotonic()
            with pytest.raises(RpcError):
                parts.pipeline.chain.head()
            elapsed = time.monotonic() - started
            # the keeper's own attempts only; web3's five inside each made it 15 (~6 s)
            assert node.counts["http_502"] == 1 + RETRIES, (node.counts, elapsed)
        finally:
            parts.pipeline.close()
            parts.store.close()
