"""Intake without a chain: format and policy checks, the store, the HTTP endpoint, the drop folder.

Real signatures (eth-account keys), a real SQLite file and a real HTTP server on loopback.
"""

from __future__ import annotations

import json

import pytest
import requests
from eth_account import Account

from keeper.intents.intake import IntakeServer, IntakeService
from keeper.intents.signing import intent_digest, sign_intent
from keeper.intents.states import IntentState
from keeper.intents.store import IntentStore
from keeper.intents.types import RebalanceIntent, TokenAmount
from keeper.intents.validation import IntentPolicy, IntentRejectedError

CHAIN_ID = 31337
EXECUTOR = "0x" + "e1" * 20
OTHER_EXECUTOR = "0x" + "e2" * 20
WETH = Account.from_key(b"\x01" * 32).address  # any checksummed addresses will do as tokens
USDC = Account.from_key(b"\x02" * 32).address
JUNK = Account.from_key(b"\x03" * 32).address
NOW = 1_800_000_000

user = Account.from_key(b"\x11" * 32)
stranger = Account.from_key(b"\x12" * 32)


def make_intent(owner=user, **fields) -> RebalanceIntent:
    values = {
        "owner": owner.address,
        "executor": EXECUTOR,
        "nonce": 1,
        "deadline": NOW + 600,
        "sells": [TokenAmount(token=WETH, amount=10**18)],
        "buys": [TokenAmount(token=USDC, amount=3_000 * 10**6)],
    }
    values.update(fields)
    return RebalanceIntent(**values)


def submission(intent: RebalanceIntent, signer=None, chain_id: int = CHAIN_ID) -> dict:
    signature = sign_intent(intent, signer or user, chain_id)
    return {"intent": json.loads(intent.to_json()), "signature": "0x" + signature.hex()}


@pytest.fixture
def store(tmp_path):
    s = IntentStore(f"sqlite:///{tmp_path / 'i.db'}", keeper_id="k")
    yield s
    s.close()


@pytest.fixture
def outcomes():
    return []


@pytest.fixture
def service(store, outcomes):
    policy = IntentPolicy(
        chain_id=CHAIN_ID, executor=EXECUTOR, supported_tokens=[WETH, USDC], max_legs_per_side=3
    )
    return IntakeService(
        store, policy, chain=None, chain_time=lambda: NOW, on_outcome=outcomes.append
    )


def rejected(service, body) -> IntentRejectedError:
    with pytest.raises(IntentRejectedError) as err:
        service.submit(body)
    return err.value


def test_a_well_signed_intent_is_accepted_with_its_digest_as_id_and_is_idempotent(service, store):
    body = submission(make_intent())
    record, created = service.submit(body)
    assert created and record.state is IntentState.ACCEPTED
    assert record.id.startswith("0x") and len(record.id) == 66
    again, created_again = service.submit(json.dumps(body))
    assert again.id == record.id and not created_again
    assert store.get(record.id).payload["signature"] == body["signature"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "<body>"),
        (b"[1, 2]", "<body>"),
        ({"intent": {}, "signature": "0x00"}, "intent.owner"),
        ({"signature": "0x00"}, "intent"),
    ],
)
def test_malformed_bodies_are_rejected_naming_the_field(service, body, field):
    assert rejected(service, body).field == field


def test_wrong_types_name_the_nested_field(service):
    body = submission(make_intent())
    body["intent"]["sells"][0]["amount"] = "lots"
    err = rejected(service, body)
    assert (err.field, err.code) == ("intent.sells.0.amount", "malformed")
    body = submission(make_intent())
    body["intent"]["deadline"] = -5
    assert rejected(service, body).field == "intent.deadline"


def test_a_signature_by_someone_else_is_rejected(service):
    body = submission(make_intent())
    body["signature"] = submission(make_intent(owner=stranger), signer=stranger)["signature"]
    err = rejected(service, body)
    assert (err.field, err.code) == ("signature", "bad_signature")


def test_a_changed_field_after_signing_breaks_the_signature(service):
    body = submission(make_intent())
    body["intent"]["buys"][0]["amount"] = "1"
    assert rejected(service, body).field == "signature"


def _with_v(body: dict, v: int) -> dict:
    signature = bytes.fromhex(body["signature"][2:])
    return {**body, "signature": "0x" + (signature[:64] + bytes([v])).hex()}


@pytest.mark.parametrize("offset", [27, 0], ids=["v-27", "v-as-is"])
def test_a_signature_with_v_0_or_1_is_stored_with_v_27_or_28_the_form_settle_accepts(
    service, store, offset
):
    """Some hardware and MPC signers give v in {0, 1}; settle (OpenZeppelin ECDSA) accepts only
    27 or 28. The same (r, s) with v + 27 is the same key's signature of the same digest."""
    body = submission(make_intent())
    v = bytes.fromhex(body["signature"][2:])[64]
    record, created = service.submit(_with_v(body, v - offset))
    assert created
    assert store.get(record.id).payload["signature"] == body["signature"]  # v in {27, 28}


@pytest.mark.parametrize("v", [2, 26, 29, 35])
def test_a_v_the_executor_never_accepts_is_refused_naming_the_signature(service, v):
    err = rejected(service, _with_v(submission(make_intent()), v))
    assert (err.field, err.code) == ("signature", "bad_signature")
    assert f"v is {v}" in err.problem and "27 or 28" in err.problem


def test_a_v_0_or_1_signature_by_someone_else_is_still_refused(service):
    body = submission(make_intent())
    digest = intent_digest(make_intent(), CHAIN_ID)
    other = "0x" + bytes(stranger.unsafe_sign_hash(digest).signature).hex()
    v = bytes.fromhex(other[2:])[64]
    err = rejected(service, _with_v({**body, "signature": other}, v - 27))
    assert (err.field, err.code) == ("signature", "bad_signature")
    assert stranger.address in err.problem


def test_without_a_chain_a_signature_that_is_not_the_owners_ecdsa_says_erc1271_needs_it(service):
    body = submission(make_intent())
    body["signature"] = "0x" + "ab" * 100  # what a smart wallet might sign with
    err = rejected(service, body)
    assert (err.field, err.code) == ("signature", "bad_signature")
    assert "100 bytes" in err.problem and "ERC-1271" in err.problem


def test_an_intent_signed_for_another_chain_is_rejected(service):
    err = rejected(service, submission(make_intent(), chain_id=1))
    assert err.field == "signature" and "chain" in err.problem
    body = submission(make_intent())
    body["chainId"] = 1
    err = rejected(service, body)
    assert (err.field, err.code) == ("chainId", "wrong_domain")


def test_an_intent_for_another_executor_is_rejected(service):
    err = rejected(service, submission(make_intent(executor=OTHER_EXECUTOR)))
    assert (err.field, err.code) == ("intent.executor", "wrong_domain")


def test_expired_and_too_distant_deadlines_are_rejected(service):
    err = rejected(service, submission(make_intent(deadline=NOW - 1)))
    assert (err.field, err.code) == ("intent.deadline", "expired")
    err = rejected(service, submission(make_intent(deadline=NOW + 10**9)))
    assert (err.field, err.code) == ("intent.deadline", "limit")


def test_an_unknown_token_is_rejected_naming_the_leg(service):
    intent = make_intent(
        buys=[TokenAmount(token=USDC, amount=1), TokenAmount(token=JUNK, amount=1)]
    )
    err = rejected(service, submission(intent))
    assert (err.field, err.code) == ("intent.buys.1.token", "unsupported_token")


def test_insane_limits_are_rejected(service):
    err = rejected(service, submission(make_intent(sells=[TokenAmount(token=WETH, amount=0)])))
    assert err.field == "intent.sells.0.amount"
    err = rejected(service, submission(make_intent(buys=[TokenAmount(token=WETH, amount=1)])))
    assert "both sold and bought" in err.problem
    err = rejected(service, submission(make_intent(buys=[])))
    assert err.field == "intent.buys"


def test_two_buy_legs_in_one_token_are_rejected_naming_the_second(service):
    # one buy leg per token and intent: the signed minimum of a token is then one number
    intent = make_intent(
        buys=[TokenAmount(token=USDC, amount=1_000 * 10**6), TokenAmount(token=USDC, amount=1)]
    )
    err = rejected(service, submission(intent))
    assert (err.field, err.code) == ("intent.buys.1.token", "limit")
    assert "appears twice" in err.problem


def test_an_intent_designating_another_keeper_is_rejected(service):
    err = rejected(service, submission(make_intent(keeper=stranger.address)))
    assert (err.field, err.code) == ("intent.keeper", "wrong_keeper")


def test_a_second_pending_intent_with_the_same_nonce_is_rejected(service):
    service.submit(submission(make_intent(nonce=5)))
    err = rejected(service, submission(make_intent(nonce=5, deadline=NOW + 900)))
    assert (err.field, err.code) == ("intent.nonce", "nonce_used")


def test_outcomes_are_reported_for_metrics(service, outcomes):
    service.submit(submission(make_intent()))
    service.submit(submission(make_intent()))
    with pytest.raises(IntentRejectedError):
        service.submit(b"{")
    assert outcomes == ["accepted", "known", "malformed"]


def test_http_endpoint_accepts_rejects_and_keeps_serving(service):
    server = IntakeServer(service, health=lambda: {"block": 7}).start()
    try:
        url = server.url
        assert url.startswith("http://127.0.0.1:")
        bad = requests.post(f"{url}/intents", data=b"{oops", timeout=5)
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "<body>"
        expired = requests.post(
            f"{url}/intents", json=submission(make_intent(deadline=NOW - 1)), timeout=5
        )
        assert expired.json()["error"] == {
            "field": "intent.deadline",
            "problem": expired.json()["error"]["problem"],
            "code": "expired",
        }
        good = requests.post(f"{url}/intents", json=submission(make_intent()), timeout=5)
        assert good.status_code == 201 and good.json()["state"] == "accepted"
        intent_id = good.json()["id"]
        repeat = requests.post(f"{url}/intents", json=submission(make_intent()), timeout=5)
        assert repeat.status_code == 200 and repeat.json()["id"] == intent_id
        detail = requests.get(f"{url}/intents/{intent_id}", timeout=5).json()
        assert detail["owner"] == user.address and detail["transitions"][0]["target"] == "accepted"
        listing = requests.get(f"{url}/intents?state=accepted", timeout=5).json()["intents"]
        assert [r["id"] for r in listing] == [intent_id]
        assert requests.get(f"{url}/intents/0x00", timeout=5).status_code == 404
        assert requests.get(f"{url}/health", timeout=5).json() == {"ok": True, "block": 7}
        too_big = requests.post(f"{url}/intents", data=b"x" * 70_000, timeout=5)
        assert too_big.status_code == 413
    finally:
        server.stop()


def test_drop_folder_files_are_accepted_or_set_aside_with_the_error(service, tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "good.json").write_text(json.dumps(submission(make_intent())))
    (drop / "bad.json").write_text(json.dumps(submission(make_intent(executor=OTHER_EXECUTOR))))
    outcomes = dict(service.scan(drop))
    assert outcomes[drop / "good.json"].startswith("0x")
    assert outcomes[drop / "bad.json"].startswith("rejected: intent.executor")
    assert (drop / "done" / "good.json").exists()
    error = json.loads((drop / "rejected" / "bad.error.json").read_text())
    assert error["field"] == "intent.executor"
    assert not list(drop.glob("*.json"))


class _Chain:
    """On-chain facts for ``check_on_chain``: a funded owner with no approvals; ``WETH`` has
    a symbol and decimals, ``JUNK`` has neither (both optional in ERC-20)."""

    def nonce_used(self, owner: str, nonce: int) -> bool:
        return False

    def balance(self, token: str, owner: str) -> int:
        return 10**30

    def token_allowance(self, token: str, owner: str) -> int:
        return 0

    def vault_allowance(self, owner: str, token: str) -> tuple[int, int]:
        return 0, 0

    def token_info(self, token: str) -> tuple[str, int] | None:
        return ("WETH", 18) if token == WETH else None


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (WETH, "1.25 WETH exceeds the owner's ERC-20 approval of the vault (0.0 WETH); "
               f"fix: keeper vault approve {WETH} 1.25 --account YOUR_ACCOUNT"),
        (JUNK, f"1250000000000000000 base units of {JUNK} exceeds the owner's ERC-20 approval "
               f"of the vault (0 base units of {JUNK}); "
               f"fix: keeper vault approve {JUNK} AMOUNT --account YOUR_ACCOUNT"),
    ],
)  # fmt: skip
def test_on_chain_refusals_show_whole_tokens_or_say_base_units(token, expected):
    from keeper.intents.validation import check_on_chain

    intent = make_intent(sells=[TokenAmount(token=token, amount=125 * 10**16)])
    with pytest.raises(IntentRejectedError) as err:
        check_on_chain(intent, _Chain(), NOW)
    assert (err.value.field, err.value.problem) == ("intent.sells.0.amount", expected)
