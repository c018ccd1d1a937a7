"""Faults the keeper survives without losing an intent: bad input, a flaky node, a relay that is
down for longer than ``breaker.max_outage_s`` (the circuit breaker halts, a restart resumes),
bundles never included (intents expire)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count

import pytest
import requests

from keeper.chain.anvil import free_port
from keeper.daemon.daemon import wait_for
from keeper.devstack.localstack import KeeperProcess, local_stack, quote, signed_intent

pytestmark = [pytest.mark.fork, pytest.mark.slow]

PORTFOLIOS = {
    "alice": {"WETH": 5},
    "bob": {"USDC": 20_000},
    "carol": {"WETH": 5},
    "dave": {"USDC": 20_000},
}


class FlakyNode(ThreadingHTTPServer):
    """A JSON-RPC proxy to the chain that answers every ``every``-th request with HTTP 503."""

    daemon_threads = True

    def __init__(self, upstream: str, every: int) -> None:
        self.upstream, self.every, self.counter, self.failed = upstream, every, count(1), 0
        self.active = False
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if proxy.active and next(proxy.counter) % proxy.every == 0:
                    proxy.failed += 1
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                answer = requests.post(
                    proxy.upstream, data=body, headers={"Content-Type": "application/json"}
                )
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Miner:
    """Builds a block every ``interval`` seconds; ``include`` False = the relay's bundles miss."""

    def __init__(self, relay, interval: float = 1.0) -> None:
        self.relay, self.interval, self.include = relay, interval, True
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop_event.wait(self.interval):
            self.relay.mine_block(include_bundles=self.include)

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with local_stack(tmp_path_factory.mktemp("faults"), PORTFOLIOS, block_time=None) as s:
        miner = Miner(s.relay)
        s.miner = miner
        yield s
        miner.stop()


def intent(stack, user, sell: str, amount: float, buy: str, nonce: int, **kw) -> dict:
    units = stack.market.token(sell).units(amount)
    minimum = quote(stack, sell, units, buy) * 97 // 100
    return signed_intent(stack, user, {sell: amount}, {buy: minimum}, nonce=nonce, **kw)


def state_of(keeper: KeeperProcess, intent_id: str) -> dict:
    return requests.get(f"{keeper.url}/intents/{intent_id}", timeout=5).json()


def test_bad_input_is_rejected_by_field_and_a_flaky_node_loses_nothing(stack, tmp_path):
    alice, bob = stack.users[0], stack.users[1]
    # in front of the relay's reads (as KeeperProcess reads by default: never a trial block)
    node = FlakyNode(stack.relay.url, every=7)
    env = {"KEEPER_BREAKER__FAILURE_BUDGET": "1000"}
    with KeeperProcess(stack, tmp_path / "k", rpc_url=node.url, **env) as keeper:
        post = lambda body: requests.post(f"{keeper.url}/intents", timeout=10, **body)  # noqa: E731
        good = intent(stack, alice, "WETH", 1, "USDC", nonce=11)
        wrong_type = json.loads(json.dumps(good))
        wrong_type["intent"]["nonce"] = "eleven"
        bad_signature = json.loads(json.dumps(good))
        bad_signature["signature"] = intent(stack, bob, "USDC", 1, "WETH", nonce=1)["signature"]
        wrong_chain = {**good, "chainId": 5}
        wrong_executor = json.loads(json.dumps(good))
        wrong_executor["intent"]["executor"] = stack.vault
        expired = intent(stack, alice, "WETH", 1, "USDC", nonce=12, ttl=-60)
        unknown = signed_intent(stack, alice, {"WETH": 1}, {"USDC": 1}, nonce=13)
        unknown["intent"]["buys"][0]["token"] = stack.executor  # not a token of the market
        cases = {
            "<body>": {"data": b"{not json"},
            "intent.nonce": {"json": wrong_type},
            "signature": {"json": bad_signature},
            "chainId": {"json": wrong_chain},
            "intent.executor": {"json": wrong_executor},
            "intent.deadline": {"json": expired},
            "intent.buys.0.token": {"json": unknown},
        }
        for field, body in cases.items():
            answer = post(body)
            assert answer.status_code == 400, (field, answer.text)
            assert answer.json()["error"]["field"] == field, answer.text
        node.active = True  # from now on every 7th request to the node fails
        ids = []
        for body in (good, intent(stack, bob, "USDC", 3_000, "WETH", nonce=11)):
            for _ in range(5):  # the node fails some intake reads: the client retries
                answer = post({"json": body})
                if answer.status_code in (200, 201):
                    break
            assert answer.status_code in (200, 201), answer.text
            ids.append(answer.json()["id"])
        reused_body = {"json": intent(stack, alice, "WETH", 2, "USDC", nonce=11)}
        for _ in range(5):  # a failed node read is a 503 (retry), never a verdict
            reused = post(reused_body)
            if reused.status_code != 503:
                break
        assert reused.status_code == 400, reused.text
        assert reused.json()["error"]["field"] == "intent.nonce"

        assert wait_for(
            lambda: all(state_of(keeper, i)["state"] == "settled" for i in ids), timeout=90
        ), [state_of(keeper, i) for i in ids]
        assert requests.get(f"{keeper.url}/health", timeout=5).json()["halted"] is False
        assert keeper.stop() == 0
    assert node.failed > 0


def test_a_relay_that_is_down_halts_the_keeper_and_a_restart_settles(stack, tmp_path):
    carol = stack.users[2]
    dead_relay = f"http://127.0.0.1:{free_port()}"
    # A relay that never answers is broken, not a hiccup: the outage halts once it has lasted
    # max_outage_s without one good answer.
    env = {"KEEPER_BREAKER__MAX_OUTAGE_S": "3", "KEEPER_RELAY__URLS": f'["{dead_relay}"]'}
    keeper = KeeperProcess(stack, tmp_path / "k", **env).start()
    try:
        answer = requests.post(
            f"{keeper.url}/intents",
            json=intent(stack, carol, "WETH", 1, "USDC", nonce=21),
            timeout=10,
        )
        intent_id = answer.json()["id"]
        assert wait_for(lambda: keeper.proc.poll() is not None, timeout=60)
        assert keeper.proc.returncode == 2  # circuit breaker: halted on purpose
    finally:
        keeper.kill()
    with KeeperProcess(stack, tmp_path / "k") as again:  # same store, working relay
        assert wait_for(lambda: state_of(again, intent_id)["state"] == "settled", timeout=60)
        history = [t["target"] for t in state_of(again, intent_id)["transitions"]]
    assert history.count("settled") == 1


def test_a_bundle_never_included_is_retried_until_the_deadline_then_expires(stack, tmp_path):
    dave = stack.users[3]
    env = {"KEEPER_LIMITS__MIN_TIME_TO_DEADLINE_S": "2", "KEEPER_RELAY__TARGET_BLOCKS": "2"}
    stack.miner.include = False  # builders ignore our bundles from now on
    try:
        with KeeperProcess(stack, tmp_path / "k", **env) as keeper:
            body = intent(stack, dave, "USDC", 2_000, "WETH", nonce=31, ttl=12)
            intent_id = requests.post(f"{keeper.url}/intents", json=body, timeout=10).json()["id"]
            assert wait_for(lambda: state_of(keeper, intent_id)["state"] == "expired", timeout=60)
            record = state_of(keeper, intent_id)
    finally:
        stack.miner.include = True
    targets = [t["target"] for t in record["transitions"]]
    assert targets.count("submitted") >= 2 and targets[-1] == "expired"
    assert any("retrying" in (t["reason"] or "") for t in record["transitions"])
    nonce_used = stack.w3.eth.contract(
        address=stack.executor,
        abi=[
            {
                "name": "isNonceUsed",
                "type": "function",
                "stateMutability": "view",
                "inputs": [{"name": "o", "type": "address"}, {"name": "n", "type": "uint256"}],
                "outputs": [{"name": "", "type": "bool"}],
            }
        ],
    ).functions.isNonceUsed(dave.address, 31)
    assert nonce_used.call() is False
