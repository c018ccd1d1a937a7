"""Intake while the node gives broken answers (issue 15, problems 2 and 4): a failed read is
not a verdict on the intent. A drop file stays pending and is tried again later; HTTP answers
503 with ``Retry-After``; ``keeper intent submit`` says to retry, not "rejected".

The node is the session's anvil behind a real fault-injecting proxy on loopback.
"""

from __future__ import annotations

import json

import pytest
import requests
from ape import chain as ape_chain
from click.testing import CliRunner
from web3 import HTTPProvider, Web3

from keeper.cli import cli
from keeper.devstack.faultproxy import FaultProxy
from keeper.intents.chainstate import Web3ChainState
from keeper.intents.intake import IntakeServer, IntakeService
from keeper.intents.states import IntentState
from keeper.intents.store import IntentStore
from keeper.intents.validation import IntentPolicy
from tests.keeper.pipeline.conftest import E6, E18


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def proxy():
    with FaultProxy(ape_chain.provider.web3.provider.endpoint_uri, kinds=["truncate"]) as p:
        yield p


@pytest.fixture
def intake(tmp_path, users, executor, weth, usdc, proxy):
    store = IntentStore(f"sqlite:///{tmp_path / 'i.db'}", keeper_id="k")
    policy = IntentPolicy(
        chain_id=users.chain_id,
        executor=executor.address,
        supported_tokens=[weth.address, usdc.address],
    )
    # A plain web3 provider, as an operator's code would make one, in front of the proxy.
    node = Web3(HTTPProvider(proxy.url, request_kwargs={"timeout": 5}))
    outcomes: list[str] = []
    clock = Clock()
    service = IntakeService(
        store,
        policy,
        Web3ChainState(node, executor.address),
        chain_time=users.now,
        on_outcome=outcomes.append,
        clock=clock,
    )
    service.outcomes, service.test_clock = outcomes, clock  # type: ignore[attr-defined]
    yield service
    store.close()


def signed_body(users, user, weth, usdc, nonce: int) -> dict:
    intent = users.intent(user, [(weth, E18)], [(usdc, 1_000 * E6)], nonce=nonce)
    return users.signed(intent, user).to_wire()


def test_a_failed_node_read_leaves_the_drop_file_pending_and_it_is_accepted_later(
    intake, proxy, users, alice, weth, usdc, tmp_path
):
    users.fund(alice, weth, 2 * E18)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.json").write_text(json.dumps(signed_body(users, alice, weth, usdc, nonce=501)))
    proxy.rate = 1.0  # every read of the node is cut in half (ChunkedEncodingError)
    outcomes = dict(intake.scan(drop))  # must not raise: the daemon calls this every poll
    assert outcomes[drop / "a.json"].startswith("unavailable: keeper temporarily unavailable")
    assert (drop / "a.json").exists() and not (drop / "rejected").exists()
    assert intake.outcomes == ["unavailable"]  # counted (keeper_intake_total{outcome})
    assert proxy.counts["truncate"] >= 1

    proxy.clear()
    assert intake.scan(drop) == []  # backing off: not tried again at once
    intake.test_clock.now += 60
    outcomes = dict(intake.scan(drop))
    intent_id = outcomes[drop / "a.json"]
    assert intent_id.startswith("0x") and (drop / "done" / "a.json").exists()
    assert intake.store.get(intent_id).state is IntentState.ACCEPTED


def test_http_answers_503_with_retry_advice_and_the_cli_says_retry_not_rejected(
    intake, proxy, users, bob, weth, usdc, tmp_path
):
    users.fund(bob, weth, 2 * E18)
    body = signed_body(users, bob, weth, usdc, nonce=502)
    server = IntakeServer(intake).start()
    try:
        proxy.rate = 1.0
        answer = requests.post(f"{server.url}/intents", json=body, timeout=10)
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "2"
        assert answer.json()["error"]["code"] == "unavailable"
        assert "temporarily unavailable" in answer.json()["error"]["problem"]

        path = tmp_path / "intent.json"
        path.write_text(json.dumps(body))
        result = CliRunner().invoke(cli, ["intent", "submit", str(path), "--url", server.url])
        assert result.exit_code == 1
        assert "keeper temporarily unavailable, retry in 2 s" in result.output
        assert "rejected" not in result.output

        proxy.clear()
        result = CliRunner().invoke(cli, ["intent", "submit", str(path), "--url", server.url])
        assert result.exit_code == 0 and "accepted 0x" in result.output, result.output
    finally:
        server.stop()
