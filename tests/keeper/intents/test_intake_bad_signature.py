"""A signature no key can have made (its r is no point's x on secp256k1) is a user's mistake:
refused naming the signature, never a crash of intake (issue 15, problem 1)."""

from __future__ import annotations

import json

import pytest
import requests

from keeper.intents.intake import IntakeServer, IntakeService
from keeper.intents.store import IntentStore
from keeper.intents.validation import IntentPolicy
from tests.keeper.intents.test_intake import CHAIN_ID, EXECUTOR, USDC, WETH, make_intent, submission

#: x = 5 is no point's x coordinate on secp256k1 (5**3 + 7 has no square root mod p): eth_keys
#: raises BadSignature, not ValueError, when it tries to recover a key from it
OFF_CURVE_R = 5


@pytest.fixture
def service(tmp_path):
    store = IntentStore(f"sqlite:///{tmp_path / 'i.db'}", keeper_id="k")
    policy = IntentPolicy(chain_id=CHAIN_ID, executor=EXECUTOR, supported_tokens=[WETH, USDC])
    yield IntakeService(store, policy, chain=None, chain_time=lambda: 1_800_000_000)
    store.close()


def off_curve_submission() -> dict:
    body = submission(make_intent())
    signature = OFF_CURVE_R.to_bytes(32, "big") + (1).to_bytes(32, "big") + bytes([27])
    return {**body, "signature": "0x" + signature.hex()}


def test_a_drop_file_whose_signature_is_off_the_curve_is_set_aside_with_the_reason(
    service, tmp_path
):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "offcurve.json").write_text(json.dumps(off_curve_submission()))
    (drop / "zgood.json").write_text(json.dumps(submission(make_intent(nonce=2))))
    outcomes = dict(service.scan(drop))
    assert outcomes[drop / "offcurve.json"].startswith("rejected: signature")
    assert outcomes[drop / "zgood.json"].startswith("0x")
    error = json.loads((drop / "rejected" / "offcurve.error.json").read_text())
    assert (error["field"], error["code"]) == ("signature", "bad_signature")
    assert not list(drop.glob("*.json"))  # nothing left to fail on at the next start


def test_http_answers_400_naming_the_signature_when_it_is_off_the_curve(service):
    server = IntakeServer(service).start()
    try:
        answer = requests.post(f"{server.url}/intents", json=off_curve_submission(), timeout=5)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["field"] == "signature"
        assert answer.json()["error"]["code"] == "bad_signature"
    finally:
        server.stop()
