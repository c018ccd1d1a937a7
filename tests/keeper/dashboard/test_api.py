"""The JSON API, every endpoint, over a real SQLite store (no chain: the portfolio endpoint
answers 503 here; tests/e2e covers it on the local market). Bad parameters get 404 or 422
with a one-line message naming the field."""

from __future__ import annotations

import time

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from keeper.config import DashboardOwner, DashboardSettings
from keeper.dashboard.app import create_app
from keeper.dashboard.context import DashboardContext
from keeper.dashboard.controls import sign
from keeper.intents.ledger import Counterfactual, Fill, Leg, Settlement
from keeper.intents.store import IntentStore
from keeper.strategy.controls import ControlStore

CHAIN_ID = 1
EXECUTOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OWNER = Account.from_key("0x" + "11" * 32)
STRANGER = Account.from_key("0x" + "22" * 32)
WETH, USDC = "0x" + "11" * 20, "0x" + "22" * 20
TX = "0x" + "ab" * 32


@pytest.fixture
def setup(tmp_path):
    store = IntentStore(f"sqlite:///{tmp_path / 'intents.db'}", "api-test")
    state = tmp_path / "alice.state.json"
    settings = DashboardSettings(
        owners=[DashboardOwner(owner=OWNER.address, strategy=tmp_path / "s.yaml", state=state)],
        reports_dir=tmp_path / "reports",
    )
    ctx = DashboardContext(settings=settings, store=store, chain_id=CHAIN_ID, executor=EXECUTOR)
    fill = Fill(
        tx_hash=TX, intent_id="0x" + "cc" * 32, owner=OWNER.address, nonce=1,
        sells=(Leg(WETH, "WETH", 2 * 10**18, 2 * 10**18, 6_000.0, 18),),
        buys=(Leg(USDC, "USDC", 5_900 * 10**6, 5_990 * 10**6, 5_990.0, 6),),
        fee=0, fee_token=None, fee_usd=0.0, gas_share=150_000,
        counterfactual=Counterfactual(5_985.0, 160_000, 1.6, 5_950.0, 87_310, 0.9),
    )  # fmt: skip
    store.ledger.add_settlement(
        Settlement(
            tx_hash=TX, bundle_hash="0x" + "cd" * 32, block_number=120, block_time=1_790_000_000,
            gas_used=150_000, effective_gas_price=10**9, eth_usd=3_000.0,
            first_submitted_block=118, flows={"tokens": {"WETH": {"sold": str(2 * 10**18),
            "received": "0", "to_pools": str(10**18), "from_pools": "0", "netted": str(10**18)}},
            "swaps": []}, fills=(fill,),
        )
    )  # fmt: skip
    client = TestClient(create_app(ctx))
    yield client, ctx, state
    store.close()


def test_owners_lists_the_configured_portfolios(setup):
    client, _, _ = setup
    assert client.get("/api/owners").json() == [OWNER.address]


def test_settlement_returns_limits_executions_flows_and_savings(setup):
    client, _, _ = setup
    body = client.get(f"/api/settlements/{TX}").json()
    assert body["gas_used"] == 150_000 and body["blocks_to_inclusion"] == 2
    (order,) = body["orders"]
    assert order["sold"][0] == {"symbol": "WETH", "amount": 2.0, "limit": 2.0, "usd": 6000.0}
    assert order["limit_price"] == pytest.approx(2_950.0)
    assert order["execution_price"] == pytest.approx(2_995.0)
    assert order["savings_usd"] == pytest.approx((6_000 - 5_985 + 1.6) - (6_000 - 5_990))
    assert body["flows"] == [
        {"symbol": "WETH", "sold": 2.0, "received": 0.0, "to_pools": 1.0, "from_pools": 0.0,
         "netted": 1.0}
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/api/settlements/0x" + "00" * 32, 404, "tx_hash"),
        ("/api/settlements/0x1234", 422, "tx_hash"),
        ("/api/settlements?limit=0", 422, "limit"),
        ("/api/settlements?limit=many", 422, "limit"),
        (f"/api/owners/{STRANGER.address}/intents", 404, "owner"),
        ("/api/owners/not-an-address/intents", 422, "owner"),
        (f"/api/owners/{OWNER.address}/settlements?limit=5000", 422, "limit"),
        (f"/api/owners/{STRANGER.address}/portfolio", 404, "owner"),
        ("/api/owners/0x12/portfolio", 422, "owner"),
        (f"/api/owners/{OWNER.address}/controls/typed-data?action=explode", 422, "action"),
        (f"/api/owners/{OWNER.address}/controls/typed-data", 422, "action"),
        (f"/api/owners/{OWNER.address}/controls/typed-data?action=targets", 422, "targets"),
        (f"/api/owners/{OWNER.address}/controls/typed-data?action=targets&targets=WETH", 422,
         "targets"),
        (f"/api/owners/{OWNER.address}/reports/2026-13", 422, "month"),
        (f"/api/owners/{OWNER.address}/reports/2026-11", 404, "month"),
    ],
)  # fmt: skip
def test_bad_parameters_get_a_status_and_a_message_naming_the_field(setup, path, status, field):
    client, _, _ = setup
    answer = client.get(path)
    assert answer.status_code == status, answer.text
    assert answer.json()["detail"].startswith(field), answer.json()


def test_portfolio_without_a_chain_answers_503(setup):
    client, _, _ = setup
    answer = client.get(f"/api/owners/{OWNER.address}/portfolio")
    assert answer.status_code == 503 and "rpc_url" in answer.json()["detail"]


def test_owner_intents_and_settlements(setup):
    client, ctx, _ = setup
    ctx.store.add(
        "0x" + "ee" * 32, chain_id=1, executor=EXECUTOR, owner=OWNER.address, nonce=3,
        valid_after=0, deadline=2**40, payload={"intent": {"sells": [{"token": WETH,
        "amount": str(10**18)}], "buys": [{"token": USDC, "amount": "1"}]}},
    )  # fmt: skip
    (intent,) = client.get(f"/api/owners/{OWNER.address}/intents").json()
    assert intent["state"] == "accepted" and intent["sells"][0]["amount"] == 1.0
    (summary,) = client.get(f"/api/owners/{OWNER.address}/settlements").json()
    assert summary["tx_hash"] == TX and summary["orders"] == 1


def test_keeper_without_a_daemon_reports_the_store(setup):
    client, _, _ = setup
    body = client.get("/api/keeper").json()
    assert body["live"] is False and body["intents_by_state"]["settled"] == 0
    assert [s["tx_hash"] for s in body["settlements"]] == [TX]


def signed_body(client, owner, signer, action="pause", **params):
    typed = client.get(
        f"/api/owners/{owner.address}/controls/typed-data", params={"action": action, **params}
    ).json()
    assert typed["domain"] == {
        "name": "Rebalancer Control", "version": "1", "chainId": CHAIN_ID,
        "verifyingContract": EXECUTOR,
    }  # fmt: skip
    from keeper.dashboard.controls import ControlRequest

    request = ControlRequest.model_validate(typed["message"])
    return {"request": typed["message"], "signature": sign(request, signer, CHAIN_ID, EXECUTOR)}


def test_a_control_signed_by_the_owner_pauses_once(setup):
    client, _, state = setup
    body = signed_body(client, OWNER, OWNER)
    answer = client.post(f"/api/owners/{OWNER.address}/controls", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["paused"] is True and ControlStore(state).load().paused is True
    replay = client.post(f"/api/owners/{OWNER.address}/controls", json=body)
    assert replay.status_code == 409 and replay.json()["detail"].startswith("request.nonce")


def test_a_control_signed_by_someone_else_is_refused_and_changes_nothing(setup):
    client, _, state = setup
    answer = client.post(
        f"/api/owners/{OWNER.address}/controls", json=signed_body(client, OWNER, STRANGER)
    )
    assert answer.status_code == 403
    assert answer.json()["detail"] == (
        f"signature: signed by {STRANGER.address}, not by the owner {OWNER.address}"
    )
    assert ControlStore(state).load().paused is False


def test_a_signed_request_cannot_be_changed_after_signing(setup):
    client, _, state = setup
    body = signed_body(client, OWNER, OWNER, action="pause")
    body["request"]["action"] = "trigger"  # the signature was for pause
    answer = client.post(f"/api/owners/{OWNER.address}/controls", json=body)
    assert answer.status_code == 403 and answer.json()["detail"].startswith("signature")
    assert ControlStore(state).load().manual_requested is False


def test_an_expired_control_request_is_refused(setup):
    client, ctx, state = setup
    body = signed_body(client, OWNER, OWNER)
    ctx.clock = lambda: time.time() + 10 * 3600
    answer = client.post(f"/api/owners/{OWNER.address}/controls", json=body)
    assert answer.status_code == 403 and answer.json()["detail"].startswith("request.deadline")
    assert ControlStore(state).load().paused is False


def test_a_request_for_another_owner_is_refused(setup):
    client, _, _ = setup
    body = signed_body(client, OWNER, OWNER)
    body["request"]["owner"] = STRANGER.address
    answer = client.post(f"/api/owners/{OWNER.address}/controls", json=body)
    assert answer.status_code == 403 and answer.json()["detail"].startswith("request.owner")


def test_new_targets_signed_by_the_owner_replace_the_strategy_targets(setup):
    client, _, state = setup
    body = signed_body(client, OWNER, OWNER, action="targets", targets="WETH=60%,USDC=40%")
    answer = client.post(f"/api/owners/{OWNER.address}/controls", json=body)
    assert answer.status_code == 200, answer.text
    assert ControlStore(state).load().target_overrides == {"USDC": 0.4, "WETH": 0.6}


def test_malformed_control_bodies_get_422(setup):
    client, _, _ = setup
    answer = client.post(
        f"/api/owners/{OWNER.address}/controls", json={"request": {}, "signature": "0x12"}
    )
    assert answer.status_code == 422 and answer.json()["detail"].startswith("request.owner")


def test_the_api_is_documented_and_has_no_cors_by_default(setup):
    client, _, _ = setup
    spec = client.get("/api/openapi.json").json()
    assert {"/api/keeper", "/api/settlements/{tx_hash}", "/api/owners/{owner}/portfolio",
            "/api/owners/{owner}/controls"} <= set(spec["paths"])  # fmt: skip
    answer = client.get("/api/keeper", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in answer.headers
    assert "set-cookie" not in answer.headers


def test_pages_render_and_unknown_ones_say_why(setup):
    client, _, _ = setup
    assert OWNER.address in client.get("/").text
    page = client.get(f"/settlements/{TX}")
    assert page.status_code == 200 and "150,000" in page.text
    assert client.get("/keeper").status_code == 200
    missing = client.get("/settlements/0x" + "00" * 32)
    assert missing.status_code == 404 and "not a settlement this keeper recorded" in missing.text
    assert client.get(f"/portfolio/{STRANGER.address}").status_code == 404
